import type { Lease } from './ports.js';

export interface ElectionLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ElectionRoles {
  /** The lease was taken with this fencing token: start leading (restore, serve). */
  lead(epoch: number): Promise<void>;
  /** Another instance holds the lease (its address), or nobody does. */
  follow(holder: string | undefined): void;
  /** The lease was lost or could not be renewed in time: stop leading at once. */
  stepDown(why: string): Promise<void>;
}

/**
 * Who leads, on a {@link Lease}: a follower tries to take the lease four times per lease period;
 * the leader renews it three times per period and steps down when a renewal says it is gone, or
 * when none has succeeded for 80% of the period (it cannot know it still leads: another may take
 * over once the lease expires, so it stops writing first). Stopping releases the lease.
 */
export class Election {
  private leading = false;
  private lastRenewal = 0;
  private timer: NodeJS.Timeout | undefined;
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
  }

  private async round(): Promise<void> {
    const now = Date.now();
    try {
      if (this.leading) {
        if (await this.lease.renew()) {
          this.lastRenewal = now;
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
      this.lastRenewal = now;
      try {
        await this.roles.lead(epoch);
      } catch (e) {
        this.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'could not lead');
        await this.lose('start-up as leader failed');
        await this.lease.release().catch(() => undefined);
      }
    } catch (e) {
      const err = e instanceof Error ? e.message : String(e);
      if (this.leading && Date.now() - this.lastRenewal >= this.leaseMs * 0.8) {
        await this.lose(`the lease could not be renewed: ${err}`);
      } else if (!this.leading) {
        this.roles.follow(undefined);
      }
    }
  }

  private async lose(why: string): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    await this.roles.stepDown(why);
  }
}
