/**
 * Leadership under high availability: the leader lease, as the store offers it and as it is kept
 * renewed. Implemented for Redis in redis/ (lease.ts, kept-lease.ts).
 */

/** Who holds the leader lease: the instance's scheduler address, and how long it has left. */
export interface LeaseHolder {
  readonly address: string;
  /** Until the lease expires unless renewed (ms). */
  readonly expiresInMs: number;
}

/**
 * The leader lease of high availability: one scheduler at a time holds it, renewing it well before
 * it expires; each new holder gets a larger fencing token, which the store checks on every write
 * (so a paused former leader cannot overwrite what the new one wrote). These are the store's
 * operations; {@link KeptLease} keeps one renewed.
 */
export interface Lease {
  /** Takes the lease if nobody holds it: resolves with the new fencing token, or undefined. */
  acquire(): Promise<number | undefined>;
  /** Extends the lease this instance holds for the lease period: false when it is no longer its own. */
  renew(): Promise<boolean>;
  /** Gives the lease up (clean shutdown), if it is still this instance's. */
  release(): Promise<void>;
  /** The instance holding the lease now, or undefined when nobody does. */
  holder(): Promise<LeaseHolder | undefined>;
  close(): Promise<void>;
}

/**
 * A {@link Lease} that, once acquired, renews itself (lease-keeper.ts; for Redis on a thread of its
 * own, so that a busy event loop cannot make it lapse) for as long as this process shows it is
 * alive, until released. The leader reads how long it surely holds it, synchronously.
 */
export interface KeptLease {
  /** Takes the lease if nobody holds it (then keeps it): the new fencing token, or undefined. */
  acquire(): Promise<number | undefined>;
  /** Stops renewing and gives the lease up if it is still this instance's. */
  release(): Promise<void>;
  holder(): Promise<LeaseHolder | undefined>;
  close(): Promise<void>;
  /**
   * Until when the lease is surely this instance's (ms since the epoch; a renewal Redis took at T
   * keeps it until T + the period at least), or 0 once a renewal found it taken over.
   */
  expires(): number;
  /** Why the last renewal failed, while renewals fail. */
  renewalError(): string | undefined;
  /**
   * This process is alive (and will be busy for up to `busyMs`, e.g. restoring): renewals go on
   * for the keeper's stall bound after the last call, or until the end of the busy spell.
   */
  alive(busyMs?: number): void;
}
