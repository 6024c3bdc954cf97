import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EndpointError, parseRedisEndpoint } from '../../../src/store/redis/endpoint.js';

describe('Redis store URLs', () => {
  it('reads a one-server URL, with its credentials', () => {
    assert.deepEqual(parseRedisEndpoint('rediss://app:s%3Acret@h:6380/2'), {
      kind: 'single',
      url: 'rediss://app:s%3Acret@h:6380/2',
      tls: true,
      username: 'app',
      password: 's:cret',
    });
  });

  it('reads the sentinels, the master name and the database', () => {
    assert.deepEqual(
      parseRedisEndpoint('redis-sentinel://:pw@s1:26379,[::1]:26380,10.0.0.3:26381/mymaster/3'),
      {
        kind: 'sentinel',
        sentinels: [
          { host: 's1', port: 26379 },
          { host: '::1', port: 26380 },
          { host: '10.0.0.3', port: 26381 },
        ],
        masterName: 'mymaster',
        db: 3,
        tls: false,
        password: 'pw',
      },
    );
    const tls = parseRedisEndpoint('rediss-sentinel://s1:26379/m');
    assert.equal(tls.kind === 'sentinel' && tls.tls && tls.db === 0, true);
  });

  it('reads the nodes of a cluster', () => {
    assert.deepEqual(parseRedisEndpoint('redis-cluster://u:p@n1:7000,n2:7001'), {
      kind: 'cluster',
      nodes: [
        { host: 'n1', port: 7000 },
        { host: 'n2', port: 7001 },
      ],
      tls: false,
      username: 'u',
      password: 'p',
    });
  });

  it('says what is wrong, never showing the password', () => {
    for (const [url, why] of [
      ['redis-sentinel://:secret@s1:26379', /names no master/],
      ['redis-sentinel://:secret@s1/m', /'s1' where a HOST:PORT belongs/],
      ['redis-sentinel://:secret@s1:26379,/m', /'' where a HOST:PORT belongs/],
      ['redis-sentinel://:secret@s1:26379/m/x', /only \/MASTER_NAME and a database number/],
      ['redis-cluster://:secret@n1:7000/0', /a cluster has one database/],
      ['redis-cluster://:secret@n1:70000', /'n1:70000' where a HOST:PORT belongs/],
      ['redis-cluster://:secret@n1:7000?tls=1', /\?query or #fragment/],
      ['redis://:secret@h:x', /is not a URL/],
      ['redis://:secret@h:6379/db', /only a database number/],
    ] as const) {
      assert.throws(
        () => parseRedisEndpoint(url),
        (e: unknown) =>
          e instanceof EndpointError && why.test(e.message) && !e.message.includes('secret'),
        url,
      );
    }
  });
});
