/**
 * The thread that keeps the leader lease on Redis (kept-lease.ts starts it): its own connection,
 * its own event loop, so that renewals go on while the leader's thread is busy. It answers the
 * leader's calls in order and reports renewal failures; the lease's times are in shared memory.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { LeaseKeeper, LeaseSignals } from '../lease-keeper.js';
import { messageOf, RedisStoreError } from '../../store/redis/errors.js';
import { RedisLease, type RedisLeaseOptions } from './lease.js';
import type { KeeperCall, KeeperData, KeeperReply, Wire } from './kept-lease.js';

const port = parentPort;
if (port === null) throw new Error('kept-lease.worker.ts runs as a worker thread');
const data = workerData as KeeperData;
const send = (reply: KeeperReply) => {
  port.postMessage(reply);
};

/** Buffers arrive as plain Uint8Arrays: TLS wants Buffers. */
function options(o: RedisLeaseOptions): RedisLeaseOptions {
  if (o.tls === undefined) return o;
  const tls = Object.fromEntries(
    Object.entries(o.tls).map(([name, pem]) => [name, Buffer.from(pem as Uint8Array)]),
  );
  return { ...o, tls };
}

function wire(e: unknown): Wire {
  return { message: messageOf(e), ...(e instanceof RedisStoreError ? { code: e.code } : {}) };
}

const keeper = RedisLease.open(options(data.options)).then(
  (lease) => {
    send({ ready: true });
    return new LeaseKeeper(
      lease,
      data.options.ttlMs,
      data.options.stallMs,
      new LeaseSignals(data.signals),
      (error) => {
        send({ renewalError: error ?? null });
      },
    );
  },
  (e: unknown) => {
    send({ ready: false, error: wire(e) });
    port.close(); // and this thread ends
    return undefined;
  },
);

// One call at a time, in the order sent: a release is never overtaken by an acquire after it.
let queue: Promise<void> = Promise.resolve();
port.on('message', (call: KeeperCall) => {
  queue = queue.then(async () => {
    const k = await keeper;
    try {
      if (k === undefined) throw new RedisStoreError('Unavailable', 'the lease could not open');
      switch (call.op) {
        case 'acquire':
          send({ id: call.id, value: (await k.acquire()) ?? null });
          break;
        case 'holder':
          send({ id: call.id, value: (await k.holder()) ?? null });
          break;
        case 'release':
          await k.release();
          send({ id: call.id, value: null });
          break;
        case 'close':
          await k.close();
          send({ id: call.id, value: null });
          port.close();
          break;
      }
    } catch (e) {
      send({ id: call.id, error: wire(e) });
      if (call.op === 'close') port.close();
    }
  });
});
