/** `--scheduler-host` of `mlsched agent` / `mlsched dataflow`, and following one address of several. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Client } from '@grpc/grpc-js';
import { parseSchedulerAddresses, SchedulerTargets } from '../../../src/sim/targets.js';

describe('parseSchedulerAddresses', () => {
  it('takes a host alone with the default port, as before', () => {
    assert.deepEqual(parseSchedulerAddresses('127.0.0.1', 9005), ['127.0.0.1:9005']);
    assert.deepEqual(parseSchedulerAddresses('scheduler', 9008), ['scheduler:9008']);
  });

  it('takes a comma-separated list of HOST and HOST:PORT, blanks and repeats ignored', () => {
    assert.deepEqual(parseSchedulerAddresses('h1, h2:9105 ,h3,h1:9005', 9005), [
      'h1:9005',
      'h2:9105',
      'h3:9005',
    ]);
  });

  it('takes IPv6 addresses, bracketed or bare', () => {
    assert.deepEqual(parseSchedulerAddresses('[::1]:9105,[fe80::2],::1', 9005), [
      '[::1]:9105',
      '[fe80::2]:9005',
      '[::1]:9005',
    ]);
  });

  it('refuses empty entries and bad ports, naming the entry', () => {
    for (const [list, entry] of [
      ['', ''],
      ['h1,,h2', ''],
      ['h1:0', 'h1:0'],
      ['h1:65536', 'h1:65536'],
      ['h1:port', 'h1:port'],
      ['h 1', 'h 1'],
    ] as const) {
      assert.throws(
        () => parseSchedulerAddresses(list, 9005),
        (e: Error) => e.message.startsWith(`--scheduler-host: '${entry}' in '${list}' must be`),
        list,
      );
    }
  });
});

describe('SchedulerTargets', () => {
  const made: string[] = [];
  const closed: string[] = [];
  const fake = (address: string) => {
    made.push(address);
    return {
      close: () => {
        closed.push(address);
      },
    } as unknown as Client;
  };

  it('follows one address, moving on round robin once per failure of it', () => {
    const t = new SchedulerTargets(['a', 'b', 'c'], fake);
    assert.equal(t.current().address, 'a');
    assert.equal(t.moveOn(0), true);
    // Another stream that was on 'a' learns it too: it follows 'b' without skipping it.
    assert.equal(t.moveOn(0), true);
    assert.equal(t.current().address, 'b');
    assert.equal(t.moveOn(1), true);
    assert.equal(t.moveOn(2), true);
    assert.deepEqual(t.current(), { index: 0, address: 'a', client: t.current().client });
  });

  it('makes a client per address when first followed, and closes them all', () => {
    made.length = 0;
    closed.length = 0;
    const t = new SchedulerTargets(['a', 'b', 'c'], fake);
    const first = t.current().client;
    assert.equal(t.current().client, first);
    t.moveOn(0);
    t.current();
    assert.deepEqual(made, ['a', 'b']);
    t.close();
    assert.deepEqual(closed, ['a', 'b']);
  });

  it('never moves with a single address', () => {
    const t = new SchedulerTargets(['a'], fake);
    assert.equal(t.moveOn(0), false);
    assert.equal(t.current().address, 'a');
  });

  it('refuses an empty list', () => {
    assert.throws(() => new SchedulerTargets([], fake), /no scheduler address/);
  });
});
