/**
 * Keeping a leader lease: renewals three times per period while the process shows it is alive,
 * whatever its event loop is doing. The keeper and the process share three numbers in a
 * SharedArrayBuffer ({@link LeaseSignals}), so the keeper can run on a thread of its own
 * (redis/kept-lease.ts) and the leader reads them without waiting for a message.
 */
import type { KeptLease, Lease, LeaseHolder } from './ports.js';

const EXPIRES = 0;
const ALIVE = 1;
const BUSY_UNTIL = 2;

/** Times in ms since the epoch, shared between the leader's thread and its keeper's. */
export class LeaseSignals {
  private readonly cells: BigInt64Array;

  constructor(readonly buffer = new SharedArrayBuffer(3 * BigInt64Array.BYTES_PER_ELEMENT)) {
    this.cells = new BigInt64Array(buffer);
  }

  /** Until when the lease is surely held; 0 when it is not. */
  get expires(): number {
    return this.read(EXPIRES);
  }
  set expires(at: number) {
    this.write(EXPIRES, at);
  }
  /** When the process last said it was alive. */
  get alive(): number {
    return this.read(ALIVE);
  }
  /** Until when the process said it would be busy. */
  get busyUntil(): number {
    return this.read(BUSY_UNTIL);
  }

  /** The process is alive now, and may be busy for `busyMs` from now. */
  markAlive(busyMs = 0): void {
    const now = Date.now();
    this.write(ALIVE, now);
    if (busyMs > 0) this.write(BUSY_UNTIL, Math.max(this.busyUntil, now + busyMs));
  }

  private read(cell: number): number {
    return Number(Atomics.load(this.cells, cell));
  }
  private write(cell: number, at: number): void {
    Atomics.store(this.cells, cell, BigInt(Math.round(at)));
  }
}

/** What every {@link KeptLease} reads from its signals, on the leader's thread. */
export abstract class SignalledLease {
  /** Why the last renewal failed, while renewals fail. */
  protected error: string | undefined;

  constructor(readonly signals: LeaseSignals) {}

  expires(): number {
    return this.signals.expires;
  }

  renewalError(): string | undefined {
    return this.error;
  }

  alive(busyMs = 0): void {
    this.signals.markAlive(busyMs);
  }
}

/**
 * Keeps a {@link Lease} renewed once acquired, every third of the period, until released, as long
 * as the process said it was alive within `stallMs` (or is within a busy spell it announced): a
 * process whose event loop is stuck for longer lets the lease lapse, so that another takes over.
 * A renewal that fails (Redis away) leaves `expires` where it was; one that finds the lease taken
 * over sets it to 0.
 */
export class LeaseKeeper extends SignalledLease implements KeptLease {
  private timer: NodeJS.Timeout | undefined;
  /** Counts acquisitions and releases: a renewal answered after either is ignored. */
  private term = 0;
  private held = false;

  constructor(
    private readonly lease: Lease,
    private readonly ttlMs: number,
    private readonly stallMs: number,
    signals = new LeaseSignals(),
    /** Told when a renewal fails (its message) and when one succeeds again (undefined). */
    private readonly onRenewal: (error: string | undefined) => void = () => undefined,
  ) {
    super(signals);
  }

  async acquire(): Promise<number | undefined> {
    const sentAt = Date.now();
    const epoch = await this.lease.acquire();
    if (epoch === undefined) return undefined;
    const term = ++this.term;
    this.held = true;
    this.signals.markAlive();
    this.signals.expires = sentAt + this.ttlMs;
    this.schedule(term);
    return epoch;
  }

  async release(): Promise<void> {
    this.term++;
    clearTimeout(this.timer);
    this.signals.expires = 0;
    if (!this.held) return;
    this.held = false;
    await this.lease.release();
  }

  holder(): Promise<LeaseHolder | undefined> {
    return this.lease.holder();
  }

  async close(): Promise<void> {
    await this.release().catch(() => undefined);
    await this.lease.close();
  }

  private schedule(term: number): void {
    this.timer = setTimeout(() => void this.renew(term), Math.floor(this.ttlMs / 3));
    this.timer.unref();
  }

  private async renew(term: number): Promise<void> {
    const sentAt = Date.now();
    const { alive, busyUntil } = this.signals;
    // A process stuck past the bound renews nothing (checked again next time: it may be back).
    if (sentAt - alive <= this.stallMs || sentAt <= busyUntil) {
      try {
        const ours = await this.lease.renew();
        if (term !== this.term) return;
        this.setError(undefined);
        if (!ours) {
          this.held = false;
          this.signals.expires = 0;
          return;
        }
        this.signals.expires = sentAt + this.ttlMs;
      } catch (e) {
        if (term !== this.term) return;
        this.setError(e instanceof Error ? e.message : String(e));
      }
    }
    if (term === this.term) this.schedule(term);
  }

  private setError(error: string | undefined): void {
    if (error === this.error) return;
    this.error = error;
    this.onRenewal(error);
  }
}
