import type { KeptLease } from './ports.js';

export interface ElectionLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ElectionRoles {
  /**
   * The lease was taken with this fencing token: start leading (restore, serve). `busy(ms)`, at any
   * time of the term, says this process may not answer for up to `ms` from now (a large restore,
   * an agent re-announcing thousands of models): the lease is kept meanwhile, even past the
   * keeper's usual stall bound.
   */
  lead(epoch: number, busy: (ms: number) => void): Promise<void>;
  /** Another instance holds the lease (its address), or none is known to. */
  follow(holder: string | undefined): void;
  /**
   * The lease was lost or could not be renewed in time: stop leading at once. `follow(undefined)`
   * comes first, so that the instance standing by never names itself as the leader.
   */
  stepDown(why: string): Promise<void>;
}

/**
 * Who leads, on a {@link KeptLease}: a follower tries to take the lease four times per lease
 * period; the leader, whose lease keeps itself renewed, says four times per period that it is
 * alive and steps down when the lease was taken over, or 80% of the period after the last
 * renewal that succeeded (another may take over once the lease expires, so it stops first).
 * Stepping down and stopping release the lease.
 */
export class Election {
  private leading = false;
  /** Why the last attempt to take the lease failed (logged when it changes). */
  private acquireError: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** The leader's watch: says it is alive, and stops leading once the lease may lapse. */
  private watch: NodeJS.Timeout | undefined;
  private stopped = false;
  private running: Promise<void> = Promise.resolve();
  /** The last step-down: a new term starts only once it is over (its core stopped). */
  private steppingDown: Promise<void> = Promise.resolve();

  constructor(
    private readonly lease: KeptLease,
    private readonly leaseMs: number,
    private readonly log: ElectionLog,
    private readonly roles: ElectionRoles,
  ) {}

  start(): void {
    this.schedule(0);
  }

  /** Stops campaigning and gives the lease up if held (a follower takes over at once). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.watch);
    await this.running;
    await this.steppingDown;
    if (this.leading) {
      this.leading = false;
      await this.lease.release().catch(() => undefined);
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.round().then(
        (next) => {
          this.schedule(next);
        },
        () => {
          this.schedule(Math.floor(this.leaseMs / 4));
        },
      );
    }, ms);
    this.timer.unref();
  }

  /**
   * A follower's round: take the lease if it is free, else note who holds it. @returns when to
   * try again (ms): a quarter of the period, or sooner when the holder's lease expires sooner.
   */
  private async round(): Promise<number> {
    const period = Math.floor(this.leaseMs / 4);
    // A new term only once the last step-down is over (its core stopped, its writes done).
    await this.steppingDown;
    if (this.leading) return period;
    try {
      const epoch = await this.lease.acquire();
      this.acquireError = undefined;
      if (epoch === undefined) {
        const holder = await this.lease.holder();
        this.roles.follow(holder?.address);
        // A leader that died lets its lease expire: be there the moment it does.
        return Math.min(period, (holder?.expiresInMs ?? 0) + 1);
      }
      this.leading = true;
      this.watchOver(Date.now());
      try {
        await this.roles.lead(epoch, (ms) => {
          this.lease.alive(ms);
        });
      } catch (e) {
        this.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'could not lead');
        await this.lose('start-up as leader failed');
      }
    } catch (e) {
      // Redis away (or too few replicas have the take-over): no leader is known. Said once per
      // reason; the keeper's renewals report their own failures.
      const why = e instanceof Error ? e.message : String(e);
      if (why !== this.acquireError) this.log.warn({ err: why }, 'cannot take the leader lease');
      this.acquireError = why;
      if (!this.leading) this.roles.follow(undefined);
    }
    return period;
  }

  /**
   * Whether the lease surely holds now: until 80% of the period after the last renewal that
   * succeeded (another may take over once it expires, so the holder stops first); never once it
   * was taken over. The watch below steps down by it; callers check it at each request too, as
   * the watch's timer runs late in an event loop busy for a moment.
   */
  holds(now = Date.now()): boolean {
    return now < this.heldUntil();
  }

  /** When the lease stops counting as held (0: taken over). */
  private heldUntil(): number {
    const expires = this.lease.expires();
    return expires === 0 ? 0 : expires - this.leaseMs * 0.2;
  }

  /**
   * The leader's watch, four times per period and at the point where the lease may be about to
   * lapse: tells the keeper this process is alive, and stops leading at 80% of the period after
   * the last renewal that succeeded, or at once when one found the lease taken over. `last` is
   * when the watch ran before: a process that was stuck in between says for how long.
   */
  private watchOver(last: number): void {
    if (!this.leading) return;
    const now = Date.now();
    this.lease.alive();
    const expires = this.lease.expires();
    const due = this.heldUntil();
    if (!this.holds(now)) {
      const stuck = now - last;
      const error = this.lease.renewalError();
      const cause = [
        ...(expires !== 0 && error !== undefined ? [error] : []),
        ...(stuck > this.leaseMs / 2 ? [`this process was unresponsive for ${stuck} ms`] : []),
      ].join('; ');
      const what =
        expires === 0 ? 'the lease was taken over' : 'the lease could not be renewed in time';
      void this.lose(cause === '' ? what : `${what}: ${cause}`);
      return;
    }
    this.watch = setTimeout(
      () => {
        this.watchOver(now);
      },
      Math.min(this.leaseMs / 4, due - now),
    );
    this.watch.unref();
  }

  /**
   * Stops leading at once (a write was fenced: another scheduler leads). Giving the lease up
   * changes nothing when it is already another's.
   */
  resign(why: string): void {
    void this.lose(why);
  }

  private async lose(why: string): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    clearTimeout(this.watch);
    // Not this instance any more; who leads instead is for the next round to find out.
    this.roles.follow(undefined);
    // No more renewals, and a standby may take the lease at once if it is still ours: what the
    // stopping core still writes is fenced off from then on, and with --ha nothing unwritten was
    // acknowledged.
    const released = this.lease.release().catch(() => undefined);
    this.steppingDown = this.roles.stepDown(why).then(() => released);
    await this.steppingDown;
  }
}
