/**
 * A value read from files, read again every few seconds so that what Kubernetes rewrites in place
 * (a renewed certificate, a rotated token) is used without a restart. A read that fails (halfway
 * through a rotation, say) is logged once until its reason changes, and the value before is kept.
 */
export interface ReloadLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export class Reloading<T> {
  private timer: NodeJS.Timeout | undefined;
  /** The last failed read's message, logged once until it changes. */
  private failure: string | undefined;

  constructor(
    private current: T,
    private readonly o: {
      read: () => T;
      same: (a: T, b: T) => boolean;
      /** Hears each change that was read. */
      changed: (next: T, previous: T) => void;
      log: ReloadLog;
      /** The warning logged when a read fails. */
      failed: string;
    },
  ) {}

  get value(): T {
    return this.current;
  }

  /** Reads again every `everyMs` until {@link stop}. */
  start(everyMs: number): void {
    this.timer = setInterval(() => {
      this.reload();
    }, everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private reload(): void {
    let next: T;
    try {
      next = this.o.read();
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      if (message !== this.failure) {
        this.failure = message;
        this.o.log.warn({ err: message }, this.o.failed);
      }
      return;
    }
    this.failure = undefined;
    if (this.o.same(next, this.current)) return;
    const previous = this.current;
    this.current = next;
    this.o.changed(next, previous);
  }
}
