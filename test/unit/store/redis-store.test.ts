/**
 * The Redis store's pure parts, without Redis: key encoding (injective, UTF-8 safe, readable), the
 * record envelope, error classification, URL redaction and option checks. The store itself runs
 * against a real Redis in test/integration/store-redis.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeRecord, encodeRecord } from '../../../src/store/redis/codec.js';
import { RedisStoreError, fromRedisError, isReplyError } from '../../../src/store/redis/errors.js';
import { decodeKey, encodeKey, isWellFormed, keySpace } from '../../../src/store/redis/keys.js';
import { redactPassword } from '../../../src/store/redis/endpoint.js';
import { openRedisStore } from '../../../src/store/redis/redis-store.js';

/** Any UTF-16 string, lone surrogates included. */
const utf16 = fc.string({
  unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  maxLength: 40,
});

describe('redis keys', () => {
  it('keeps ordinary keys as they are, readable in redis-cli', () => {
    for (const key of ['model:iris', 'server:mlserver:0', 'a b', 'x\ny', '🎉', 'ünï', ':r:']) {
      assert.equal(encodeKey(key), key);
    }
  });

  it('escapes % and lone surrogates only', () => {
    assert.equal(encodeKey('%'), '%25');
    assert.equal(encodeKey('50%uD800'), '50%25uD800');
    assert.equal(encodeKey('\uD800'), '%uD800');
    assert.equal(encodeKey('a\uDC00b'), 'a%uDC00b');
    assert.equal(encodeKey('\uD83D\uDE00'), '\uD83D\uDE00');
  });

  it('decodes what it encodes, so distinct keys never collide, and encodes to valid UTF-16', () => {
    fc.assert(
      fc.property(utf16, (key) => {
        const encoded = encodeKey(key);
        assert.equal(isWellFormed(encoded), true);
        assert.equal(decodeKey(encoded), key);
        assert.equal(Buffer.from(encoded, 'utf8').toString('utf8'), encoded);
      }),
    );
  });

  it('lays keys out under the prefix', () => {
    const keys = keySpace('mlsched');
    assert.equal(keys.index, 'mlsched:keys');
    assert.equal(keys.record('model:iris'), 'mlsched:r:model:iris');
  });
});

describe('redis record envelope', () => {
  it('is {"schema":N,"value":...} and decodes to the record', () => {
    const text = encodeRecord({ key: 'model:a', schema: 2, value: { replicas: [1, null] } });
    assert.equal(text, '{"schema":2,"value":{"replicas":[1,null]}}');
    assert.deepEqual(decodeRecord('model:a', text), {
      key: 'model:a',
      schema: 2,
      value: { replicas: [1, null] },
    });
    assert.deepEqual(decodeRecord('n', encodeRecord({ key: 'n', schema: 0, value: null })), {
      key: 'n',
      schema: 0,
      value: null,
    });
  });

  it('refuses what it cannot store, naming the key', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    const cases = [
      { key: '', schema: 1, value: 1 },
      { key: 'k'.repeat(1025), schema: 1, value: 1 },
      { key: 'nan', schema: Number.NaN, value: 1 },
      { key: 'inf', schema: Number.POSITIVE_INFINITY, value: 1 },
      { key: 'undef', schema: 1, value: undefined },
      { key: 'fn', schema: 1, value: () => 1 },
      { key: 'big', schema: 1, value: 1n },
      { key: 'cyclic', schema: 1, value: cyclic },
    ];
    for (const record of cases) {
      assert.throws(
        () => encodeRecord(record),
        (e: unknown) => {
          assert.ok(e instanceof RedisStoreError);
          assert.equal(e.code, 'Invalid');
          if (record.key.length > 0 && record.key.length <= 40) {
            assert.match(e.message, new RegExp(record.key));
          }
          return true;
        },
      );
    }
  });

  it('calls anything else corrupt, naming the key', () => {
    for (const text of [
      'not json',
      '[]',
      'null',
      '{"value":1}',
      '{"schema":"1","value":1}',
      '{"schema":1}',
    ]) {
      assert.throws(() => decodeRecord('model:x', text), { code: 'Corrupt', message: /model:x/ });
    }
  });
});

describe('redis store errors', () => {
  it('tells replies of Redis (Refused) from connection failures (Unavailable)', () => {
    const reply = Object.assign(new Error('OOM command not allowed'), { name: 'ReplyError' });
    assert.equal(isReplyError(reply), true);
    assert.equal(fromRedisError(reply, 'write', 'redis://h:1').code, 'Refused');
    const timeout = fromRedisError(new Error('Command timed out'), 'write', 'redis://h:1');
    assert.equal(timeout.code, 'Unavailable');
    assert.equal(
      timeout.message,
      'redis unreachable (redis://h:1): write failed: Command timed out',
    );
  });

  it('redacts passwords from URLs', () => {
    assert.equal(redactPassword('redis://:secret@h:6379/2'), 'redis://:***@h:6379/2');
    assert.equal(redactPassword('rediss://user:secret@h:6380'), 'rediss://user:***@h:6380');
    assert.equal(redactPassword('redis://h:6379'), 'redis://h:6379');
    assert.equal(redactPassword('not a url'), 'not a url');
    assert.equal(
      redactPassword('redis-sentinel://u:p%40ss/w@h1:26379,h2:26379/mymaster/1'),
      'redis-sentinel://u:***@h1:26379,h2:26379/mymaster/1',
    );
  });

  it('refuses a URL that is not redis:// or rediss://, and an empty prefix, before connecting', async () => {
    await assert.rejects(openRedisStore({ url: 'http://h:6379', prefix: 'p' }), {
      code: 'Invalid',
    });
    await assert.rejects(openRedisStore({ url: 'redis://h:6379', prefix: '' }), {
      code: 'Invalid',
    });
    await assert.rejects(openRedisStore({ url: 'redis://h:6379', prefix: 'a\uD800' }), {
      code: 'Invalid',
    });
  });
});
