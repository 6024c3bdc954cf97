import type { Lease } from './ports.js';

export interface ElectionLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ElectionRoles {
  /** The lease was taken with this fencing token: start leading (restore, serve). */
  lead(epoch: number): Promise<void>;
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
  private running: Promise<void> = Promise.resolve();

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
    const now = Date.now();
    try {
      if (this.leading) {
        if (await this.lease.renew()) {
          this.renewed(now);
          return;
        }
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
      try {
        await this.roles.lead(epoch);
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

  /**
   * Stops leading at once (a write was fenced: another scheduler leads). The lease is not released:
   * it is not ours any more, or will not be for long.
   */
  resign(why: string): void {
    void this.lose(why);
  }

  /**
   * The lease was renewed by a request sent at `sentAt`: it lasts at least until `sentAt +
   * leaseMs`. Leading stops at 80% of that unless a later renewal moves it on, whenever the
   * renewal rounds happen to run.
   */
  private renewed(sentAt: number): void {
    this.lastError = undefined;
    clearTimeout(this.deadline);
    this.deadline = setTimeout(
      () => {
        const cause = this.lastError === undefined ? '' : `: ${this.lastError}`;
        void this.lose(`the lease could not be renewed in time${cause}`);
      },
      Math.max(0, sentAt + this.leaseMs * 0.8 - Date.now()),
    );
    this.deadline.unref();
  }

  private async lose(why: string): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    clearTimeout(this.deadline);
    // Not this instance any more; who leads instead is for the next round to find out.
    this.roles.follow(undefined);
    await this.roles.stepDown(why);
  }
}
