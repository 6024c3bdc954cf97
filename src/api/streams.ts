import { status, type ServerWritableStream } from '@grpc/grpc-js';

export interface StreamLimits {
  /** Most distinct resources waiting to be sent before the subscriber is dropped. */
  maxPending: number;
  /** Longest a subscriber may keep its buffer full before it is dropped (ms). */
  stallMs: number;
}

export const DEFAULT_STREAM_LIMITS: StreamLimits = { maxPending: 10_000, stallMs: 30_000 };

/**
 * One subscriber of a status stream. Updates are keyed by resource and built when they are written,
 * so a slow subscriber gets the newest state of each resource, never a backlog; one that stops reading
 * is dropped with RESOURCE_EXHAUSTED instead of holding memory or delaying anyone else.
 */
export class StatusSubscriber<T = Buffer> {
  private readonly pending = new Map<string, () => T | undefined>();
  private blocked = false;
  private stallTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly call: ServerWritableStream<unknown, T>,
    private readonly limits: StreamLimits,
    private readonly onClose: () => void,
  ) {
    const close = () => {
      this.close();
    };
    call.on('cancelled', close);
    call.on('close', close);
    call.on('error', close);
    call.on('drain', () => {
      this.blocked = false;
      clearTimeout(this.stallTimer);
      this.flush();
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Queues the resource `key`; `build` runs when the update is written (undefined skips it). */
  push(key: string, build: () => T | undefined): void {
    if (this.closed) return;
    this.pending.delete(key);
    this.pending.set(key, build);
    if (this.pending.size > this.limits.maxPending) {
      this.fail(`subscriber too slow: more than ${this.limits.maxPending} updates pending`);
      return;
    }
    this.flush();
  }

  /** Ends the stream normally (server shutdown). */
  end(): void {
    if (this.closed) return;
    this.close();
    this.call.end();
  }

  private flush(): void {
    while (!this.blocked && !this.closed && this.pending.size > 0) {
      const [key, build] = this.pending.entries().next().value as [string, () => T | undefined];
      this.pending.delete(key);
      const msg = build();
      if (msg === undefined) continue;
      if (!this.call.write(msg)) {
        this.blocked = true;
        this.stallTimer = setTimeout(() => {
          this.fail(`subscriber too slow: not reading for ${this.limits.stallMs} ms`);
        }, this.limits.stallMs);
        this.stallTimer.unref();
      }
    }
  }

  private fail(details: string): void {
    if (this.closed) return;
    this.close();
    this.call.emit('error', { code: status.RESOURCE_EXHAUSTED, details });
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.stallTimer);
    this.pending.clear();
    this.onClose();
  }
}
