/**
 * Errors in the logs carry their type, message, stack, code and cause, and nothing else: an
 * ioredis error's failed commands (`command.args`, `previousErrors`) hold the records of a refused
 * write (model definitions with storage credentials) or an AUTH password.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorForLog } from '../../../src/observability/logger.js';

describe('errorForLog', () => {
  it('keeps what explains the error and drops the commands ioredis attaches', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), {
      code: 'ECONNREFUSED',
      command: { name: 'hello', args: ['3', 'AUTH', 'default', 'hunter2'] },
    });
    const e = Object.assign(
      new Error('EXECABORT Transaction discarded because of previous errors.', { cause }),
      {
        command: { name: 'exec', args: [] },
        previousErrors: [{ command: { name: 'mset', args: ['k', '{"rclone":"hunter2"}'] } }],
      },
    );
    const logged = errorForLog(e);
    assert.ok(!JSON.stringify(logged).includes('hunter2'), JSON.stringify(logged));
    assert.deepEqual(Object.keys(logged as object), ['type', 'message', 'stack', 'cause']);
    assert.deepEqual(
      { ...(logged as { cause: object }).cause, stack: undefined },
      {
        type: 'Error',
        message: 'connect ECONNREFUSED 127.0.0.1:6379',
        stack: undefined,
        code: 'ECONNREFUSED',
      },
    );
  });

  it('leaves what is not an Error as it is', () => {
    assert.equal(errorForLog('timed out'), 'timed out');
  });
});
