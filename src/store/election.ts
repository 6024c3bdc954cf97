import type { Lease } from './ports.js';

export interface ElectionLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ElectionRoles {
  /**
   * The lease was taken with this fencing token: start leading (restore, serve). `hold(ms)` keeps
   * the lease for `ms` from now (renewals meanwhile do not shorten it), for work that blocks this
   * process longer than the lease period (a large restore and the agents' return after it):
   * resolves false when it is no longer held.
   */
  lead(epoch: number, hold: (ms: number) => Promise<boolean>): Promise<void>;
  /** Another instance holds the lease (its address), or none is known to. */
  follow(holder: string | undefined): void;
  /**
   * The lease was lost or could not be renewed in time: stop leading at once. `follow(undefined)`
   * comes first, so that the instance standing by never names itself as the leader.
   */
  stepDown(why: string): Promise<void>;
}

/**
 * Who leads, on a {@link Lease}: a follower tries to take the lease four times per lease period;
 * the leader renews it three times per period and steps down when a renewal says it is gone, or
 * 80% of the period after the last renewal that succeeded (a timer, whenever rounds run: another
 * may take over once the lease expires, so it stops first). Stopping releases the lease.
 */
export class Election {
  private leading = false;
  /** Why the last renewal failed, for the step-down's reason. */
  private lastError: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Fires when the lease may be about to expire without a renewal having said otherwise. */
  private deadline: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Until when the leader asked to hold the lease whatever happens meanwhile (ms since epoch). */
  private heldUntil = 0;
  private running: Promise<void> = Promise.resolve();
  /** The last step-down: a new term starts only once it is over (its core stopped). */
  private steppingDown: Promise<void> = Promise.resolve();

  constructor(
    private readonly lease: Lease,
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
    clearTimeout(this.deadline);
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
      this.running = this.round().finally(() => {
        this.schedule(Math.floor(this.leaseMs / (this.leading ? 3 : 4)));
      });
    }, ms);
    this.timer.unref();
  }

  private async round(): Promise<void> {
    // A new term only once the last step-down is over (its core stopped, its writes done).
    await this.steppingDown;
    const now = Date.now();
    try {
      if (this.leading) {
        // Within a hold, each renewal keeps the lease until the hold's end at least.
        if (await this.extend(Math.max(this.leaseMs, this.heldUntil - now))) return;
        await this.lose('the lease was taken over');
        return;
      }
      const epoch = await this.lease.acquire();
      if (epoch === undefined) {
        this.roles.follow(await this.lease.holder());
        return;
      }
      this.leading = true;
      this.renewed(now);
      const hold = async (ms: number) => {
        const ttl = Math.max(ms, this.leaseMs);
        const until = Date.now() + ttl;
        if (!this.leading || !(await this.extend(ttl))) return false;
        this.heldUntil = until;
        return true;
      };
      try {
        await this.roles.lead(epoch, hold);
      } catch (e) {
        this.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'could not lead');
        await this.lose('start-up as leader failed');
        await this.lease.release().catch(() => undefined);
      }
    } catch (e) {
      // A leader keeps leading until its deadline (renewed()); a follower knows of no leader.
      this.lastError = e instanceof Error ? e.message : String(e);
      if (!this.leading) this.roles.follow(undefined);
    }
  }

  /** Renews the lease for `ttlMs`, moving the deadline on when it is still ours. */
  private async extend(ttlMs: number): Promise<boolean> {
    const sentAt = Date.now();
    if (!(await this.lease.renew(ttlMs))) return false;
    this.renewed(sentAt, ttlMs);
    return true;
  }

  /**
   * Stops leading at once (a write was fenced: another scheduler leads). The lease is not released:
   * it is not ours any more, or will not be for long.
   */
  resign(why: string): void {
    void this.lose(why);
  }

  /**
   * The lease was renewed for `ttlMs` by a request sent at `sentAt`: it lasts at least until
   * `sentAt + ttlMs`. Leading stops at 80% of that unless a later renewal moves it on, whenever the
   * renewal rounds happen to run.
   */
  private renewed(sentAt: number, ttlMs = this.leaseMs): void {
    this.lastError = undefined;
    clearTimeout(this.deadline);
    const due = sentAt + ttlMs * 0.8;
    const decide = () => {
      const late = Math.round(Date.now() - due);
      const cause = [
        ...(this.lastError === undefined ? [] : [this.lastError]),
        ...(late > 50 ? [`this process ran ${late} ms late`] : []),
      ];
      void this.lose(
        `the lease could not be renewed in time${cause.length > 0 ? `: ${cause.join('; ')}` : ''}`,
      );
    };
    const deadline = setTimeout(
      () => {
        // Close to the lease's end (the process ran late): stop now, serving nothing more.
        if (Date.now() >= sentAt + ttlMs * 0.95) {
          decide();
          return;
        }
        // Timers run before pending I/O: after a busy spell the reply of a renewal that succeeded
        // may be waiting. Let it in first (it replaces this deadline), then decide.
        setImmediate(() => {
          if (this.deadline === deadline) decide();
        });
      },
      Math.max(0, due - Date.now()),
    );
    deadline.unref();
    this.deadline = deadline;
  }

  private async lose(why: string): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    this.heldUntil = 0;
    clearTimeout(this.deadline);
    // Not this instance any more; who leads instead is for the next round to find out.
    this.roles.follow(undefined);
    this.steppingDown = this.roles.stepDown(why);
    await this.steppingDown;
  }
}
