import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import type { ServerWritableStream } from '@grpc/grpc-js';
import { StatusSubscriber } from '../../../src/api/streams.js';

/** A stand-in for a grpc-js server stream whose buffer is full after `room` writes. */
class FakeCall extends EventEmitter {
  written: string[] = [];
  errors: { code: number; details: string }[] = [];
  constructor(public room: number) {
    super();
    this.on('error', (e: { code: number; details: string }) => this.errors.push(e));
  }
  write(m: string): boolean {
    this.written.push(m);
    return this.written.length < this.room;
  }
  end(): void {
    this.emit('finish');
  }
}

const subscriber = (call: FakeCall, maxPending = 3, stallMs = 50) =>
  new StatusSubscriber<string>(
    call as unknown as ServerWritableStream<unknown, string>,
    { maxPending, stallMs },
    () => undefined,
  );

describe('StatusSubscriber', () => {
  it('writes at once while the client reads', () => {
    const call = new FakeCall(100);
    const s = subscriber(call);
    s.push('a', () => 'a1');
    s.push('b', () => 'b1');
    assert.deepEqual(call.written, ['a1', 'b1']);
  });

  it('coalesces updates of one resource while blocked and sends the newest on drain', () => {
    const call = new FakeCall(1);
    const s = subscriber(call);
    let v = 1;
    s.push('a', () => `a${v}`);
    v = 2;
    s.push('a', () => `a${v}`);
    v = 3;
    s.push('a', () => `a${v}`);
    assert.deepEqual(call.written, ['a1']);
    call.room = 100;
    call.emit('drain');
    assert.deepEqual(call.written, ['a1', 'a3']);
  });

  it('drops a subscriber with more distinct updates pending than allowed', () => {
    const call = new FakeCall(1);
    const s = subscriber(call, 3);
    for (const k of ['a', 'b', 'c', 'd', 'e']) s.push(k, () => k);
    assert.equal(call.errors[0]?.code, 8);
    assert.match(call.errors[0].details, /subscriber too slow: more than 3 updates pending/);
    assert.equal(s.isClosed, true);
  });

  it('drops a subscriber that stays blocked longer than the stall limit', async () => {
    const call = new FakeCall(1);
    const s = subscriber(call, 100, 20);
    s.push('a', () => 'a');
    await new Promise((r) => setTimeout(r, 40));
    assert.match(call.errors[0]?.details ?? '', /not reading for 20 ms/);
    assert.equal(s.isClosed, true);
  });
});
