/**
 * `--scheduler-host` of the client commands, reading a standby's refusal, and how long the
 * commands look for a leader.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Metadata, Server, ServerCredentials, status, type ServiceError } from '@grpc/grpc-js';
import type { CliError } from '../../../src/cli/errors.js';
import {
  Schedulers,
  callError,
  parseSchedulerHosts,
  standbyRefusal,
} from '../../../src/cli/client.js';
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

describe('Schedulers: waiting for a leader only while a scheduler answers', () => {
  /** A gRPC server with no services: connections to it succeed, like a scheduler's. */
  let server: Server;
  let answering: string;
  before(async () => {
    server = new Server();
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => {
        if (e) reject(e);
        else resolve(p);
      });
    });
    answering = `127.0.0.1:${port}`;
  });
  after(() => {
    server.forceShutdown();
  });

  /** Nothing listens on port 1: the connection is refused at once. */
  const REFUSED = ['127.0.0.1:1', '127.0.0.1:2'];
  const noLeaderYet = (address: string) =>
    callError(
      grpcError(
        status.UNAVAILABLE,
        'this scheduler is a standby; no scheduler leads at the moment, retry shortly',
      ),
      address,
    );

  /** `schedulers.run(call)` until `untilMs` from now: how long it took, and what it threw. */
  async function timed(
    addresses: string[],
    call: (address: string) => Promise<unknown>,
    untilMs: number,
  ): Promise<{ ms: number; error: CliError }> {
    const schedulers = new Schedulers(addresses);
    const t0 = Date.now();
    try {
      await schedulers.run((_c, a) => call(a), { idempotent: true, until: t0 + untilMs });
      assert.fail('run resolved');
    } catch (e) {
      return { ms: Date.now() - t0, error: e as CliError };
    } finally {
      schedulers.close();
    }
  }

  it('fails at once with exit code 4 when every address refuses the connection', async () => {
    const calls: string[] = [];
    const { ms, error } = await timed(REFUSED, (a) => Promise.resolve(calls.push(a)), 5000);
    assert.ok(ms < 1000, `took ${ms} ms`);
    assert.equal(error.code, EXIT.unreachable);
    assert.match(
      error.message,
      /^cannot reach a scheduler at 127\.0\.0\.1:1, 127\.0\.0\.1:2 \(127\.0\.0\.1:1: connect ECONNREFUSED 127\.0\.0\.1:1; 127\.0\.0\.1:2: connect ECONNREFUSED 127\.0\.0\.1:2\); is `mlsched serve` running there\?/,
    );
    assert.deepEqual(calls, []);
  });

  it('keeps asking while a standby says none leads yet, until the time is up', async () => {
    const calls: string[] = [];
    const { ms, error } = await timed(
      [...REFUSED, answering],
      (a) => {
        calls.push(a);
        return Promise.reject(noLeaderYet(a));
      },
      700,
    );
    assert.ok(ms >= 650, `gave up after ${ms} ms`);
    assert.ok(calls.length > 2, `asked ${calls.length} times`);
    assert.equal(error.code, EXIT.unreachable);
    assert.match(error.message, /^no scheduler leads \(.*127\.0\.0\.1:1: connect ECONNREFUSED/);
  });

  it('runs the call on the scheduler that leads once a standby stops refusing', async () => {
    const schedulers = new Schedulers([...REFUSED, answering]);
    let refusals = 3;
    try {
      const res = await schedulers.run(
        (_c, a) => (refusals-- > 0 ? Promise.reject(noLeaderYet(a)) : Promise.resolve(a)),
        { idempotent: true },
      );
      assert.equal(res, answering);
      assert.equal(schedulers.leader, answering);
    } finally {
      schedulers.close();
    }
  });
});
