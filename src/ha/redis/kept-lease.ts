/**
 * The leader lease on Redis, kept on a thread of its own (kept-lease.worker.ts): renewals do not
 * wait for this thread's event loop, which a restore or an agent re-announcing thousands of models
 * can hold for seconds. This thread only says it is alive (shared memory, no message), and the
 * lease is kept while it does: a process stuck for longer than the stall bound lets it lapse.
 */
import { Worker } from 'node:worker_threads';
import type { KeptLease, LeaseHolder } from '../ports.js';
import { LeaseSignals, SignalledLease } from '../lease-keeper.js';
import { RedisStoreError, type RedisStoreErrorCode } from '../../store/redis/errors.js';
import type { RedisLeaseOptions } from './lease.js';

/** An error as it crosses the thread boundary. */
export interface Wire {
  readonly message: string;
  readonly code?: RedisStoreErrorCode;
}
export interface KeeperData {
  readonly options: KeptRedisLeaseOptions;
  readonly signals: SharedArrayBuffer;
}
export interface KeeperCall {
  readonly id: number;
  readonly op: 'acquire' | 'holder' | 'release' | 'close';
}
export type KeeperReply =
  | { readonly ready: true }
  | { readonly ready: false; readonly error: Wire }
  | { readonly renewalError: string | null }
  | { readonly id: number; readonly value: number | LeaseHolder | null }
  | { readonly id: number; readonly error: Wire };

export interface KeptRedisLeaseOptions extends RedisLeaseOptions {
  /** How long this thread may be stuck (not saying it is alive) before renewals stop (ms). */
  readonly stallMs: number;
}

const fromWire = (e: Wire) => new RedisStoreError(e.code ?? 'Unavailable', e.message);

export class KeptRedisLease extends SignalledLease implements KeptLease {
  private readonly pending = new Map<
    number,
    { resolve: (v: number | LeaseHolder | null) => void; reject: (e: Error) => void }
  >();
  private nextId = 0;
  private closing = false;
  /** The keeper thread, once its Redis connection is open; none after it stopped unasked. */
  private worker: Promise<Worker> | undefined;

  private constructor(private readonly options: KeptRedisLeaseOptions) {
    super(new LeaseSignals());
  }

  /** @throws RedisStoreError `Unavailable` when Redis cannot be reached. */
  static async open(options: KeptRedisLeaseOptions): Promise<KeptRedisLease> {
    const lease = new KeptRedisLease(options);
    await (lease.worker = lease.spawn());
    return lease;
  }

  async acquire(): Promise<number | undefined> {
    return ((await this.call('acquire')) as number | null) ?? undefined;
  }
  async holder(): Promise<LeaseHolder | undefined> {
    return ((await this.call('holder')) as LeaseHolder | null) ?? undefined;
  }
  async release(): Promise<void> {
    // Renewals stop at once for this thread's reads, before the keeper hears of it.
    this.signals.expires = 0;
    await this.call('release');
  }
  async close(): Promise<void> {
    this.closing = true;
    this.signals.expires = 0;
    const worker = await this.worker?.catch(() => undefined);
    if (worker === undefined) return;
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    await this.call('close').catch(() => undefined);
    await exited;
  }

  private async call(op: KeeperCall['op']): Promise<number | LeaseHolder | null> {
    // The first call after the thread stopped unasked starts another.
    const worker = await (this.worker ??= this.spawn());
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, op } satisfies KeeperCall);
    });
  }

  private spawn(): Promise<Worker> {
    const data: KeeperData = { options: this.options, signals: this.signals.buffer };
    const worker = new Worker(workerSource(), {
      eval: true,
      workerData: data,
    });
    worker.unref();
    return new Promise((resolve, reject) => {
      worker.on('message', (reply: KeeperReply) => {
        if ('ready' in reply) {
          if (reply.ready) resolve(worker);
          else reject(fromWire(reply.error));
        } else if ('renewalError' in reply) {
          this.error = reply.renewalError ?? undefined;
        } else {
          const call = this.pending.get(reply.id);
          this.pending.delete(reply.id);
          if ('error' in reply) call?.reject(fromWire(reply.error));
          else call?.resolve(reply.value);
        }
      });
      worker.on('error', (e) => {
        this.error = `the lease's thread failed: ${e.message}`;
      });
      worker.on('exit', () => {
        const why = new RedisStoreError('Unavailable', this.error ?? "the lease's thread stopped");
        reject(why);
        for (const call of this.pending.values()) call.reject(why);
        this.pending.clear();
        if (this.closing) return;
        // Unasked (it could not open, or failed): nothing renews the lease any more.
        this.signals.expires = 0;
        this.worker = undefined;
      });
    });
  }
}

/**
 * The worker's code. Built (dist/, plain JavaScript) the worker is a module beside this one. From
 * the TypeScript sources (tsx: development, the tests), whose hooks a worker thread does not
 * inherit on Node 20, it registers them first.
 */
function workerSource(): string {
  if (!import.meta.url.endsWith('.ts')) {
    return `import(${JSON.stringify(new URL('./kept-lease.worker.js', import.meta.url).href)});`;
  }
  const tsx = import.meta.resolve('tsx/esm/api');
  const module = new URL('./kept-lease.worker.ts', import.meta.url);
  return `import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(module.href)}); });`;
}
