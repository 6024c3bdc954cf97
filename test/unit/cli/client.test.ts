/** `--scheduler-host` of the client commands, and reading a standby's refusal. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import type { CliError } from '../../../src/cli/errors.js';
import { callError, parseSchedulerHosts, standbyRefusal } from '../../../src/cli/client.js';
import { EXIT } from '../../../src/cli/errors.js';

const grpcError = (code: status, details: string): ServiceError =>
  Object.assign(new Error(`${code} ${status[code]}: ${details}`), {
    code,
    details,
    metadata: new Metadata(),
  });

describe('parseSchedulerHosts', () => {
  it('takes one HOST:PORT, or several comma-separated, repeats dropped', () => {
    assert.deepEqual(parseSchedulerHosts('127.0.0.1:9004'), ['127.0.0.1:9004']);
    assert.deepEqual(parseSchedulerHosts('h1:9004, h2:9004,h1:9004,[::1]:9004'), [
      'h1:9004',
      'h2:9004',
      '[::1]:9004',
    ]);
  });

  it('refuses an entry that is not HOST:PORT with a usage error naming it', () => {
    for (const [v, named] of [
      ['h1', "'h1'"],
      ['h1:9004,h2', "'h2' in 'h1:9004,h2'"],
      ['h1:9004,', "'' in 'h1:9004,'"],
      ['::1:9004', "'::1:9004'"],
    ] as const) {
      assert.throws(
        () => parseSchedulerHosts(v),
        (e: CliError) =>
          e.code === EXIT.usage &&
          e.message === `--scheduler-host: ${named} must be HOST:PORT (several: comma-separated)`,
        v,
      );
    }
  });
});

describe('standbyRefusal', () => {
  it('reads the leader a standby names, also through a mapped CliError', () => {
    const e = grpcError(
      status.UNAVAILABLE,
      'this scheduler is a standby; the leader is at 10.0.0.7:9004',
    );
    assert.deepEqual(standbyRefusal(e), { leader: '10.0.0.7:9004' });
    assert.deepEqual(standbyRefusal(callError(e, 'h:1')), { leader: '10.0.0.7:9004' });
  });

  it('says no leader when none leads at the moment', () => {
    const e = grpcError(
      status.UNAVAILABLE,
      'this scheduler is a standby; no scheduler leads at the moment, retry shortly',
    );
    assert.deepEqual(standbyRefusal(e), { leader: undefined });
  });

  it('is undefined for any other error', () => {
    assert.equal(standbyRefusal(grpcError(status.UNAVAILABLE, 'Connection dropped')), undefined);
    assert.equal(
      standbyRefusal(grpcError(status.FAILED_PRECONDITION, 'this scheduler is a standby; x')),
      undefined,
    );
    assert.equal(standbyRefusal(new Error('boom')), undefined);
  });
});
