import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseSentinelAccess, parseStore } from '../../../src/config/config.js';

const dir = mkdtempSync(join(tmpdir(), 'mlsched-sentinel-flags-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});
const sentinel = parseStore('redis-sentinel://s1:26379,s2:26379/mymaster');

describe('--redis-sentinel-* flags', () => {
  it('read the sentinels user, password (from a file, without its newline) and TLS', () => {
    const file = join(dir, 'password');
    writeFileSync(file, 's3cret\n');
    assert.deepEqual(
      parseSentinelAccess(
        { redisSentinelUser: 'ops', redisSentinelPasswordFile: file, redisSentinelTls: true },
        sentinel,
      ),
      { username: 'ops', password: 's3cret', tls: true },
    );
    assert.equal(parseSentinelAccess({}, sentinel), undefined);
  });

  it('name the flag when the store is not a Sentinel one, or the file is unusable', () => {
    assert.throws(
      () => parseSentinelAccess({ redisSentinelTls: true }, parseStore('redis://h:6379')),
      /^Error: --redis-sentinel-tls: only a Sentinel store uses it/,
    );
    const empty = join(dir, 'empty');
    writeFileSync(empty, '');
    assert.throws(
      () => parseSentinelAccess({ redisSentinelPasswordFile: empty }, sentinel),
      /--redis-sentinel-password-file: .*empty is empty/,
    );
    assert.throws(
      () => parseSentinelAccess({ redisSentinelPasswordFile: join(dir, 'none') }, sentinel),
      /--redis-sentinel-password-file: cannot read/,
    );
  });

  it('--store takes the Sentinel and Cluster forms and names what is wrong', () => {
    assert.deepEqual(parseStore('redis-cluster://n1:7000'), {
      kind: 'redis',
      url: 'redis-cluster://n1:7000',
    });
    assert.throws(
      () => parseStore('redis-sentinel://:pw@s1:26379'),
      /^Error: --store: 'redis-sentinel:\/\/:\*\*\*@s1:26379' names no master/,
    );
  });
});
