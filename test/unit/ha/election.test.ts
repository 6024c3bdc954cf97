/**
 * The election and the lease keeper on a fake lease, on one thread: a follower takes a free lease
 * and leads; a leader whose renewals fail (Redis lost) steps down before the lease can expire
 * elsewhere, and one whose lease was taken over steps down at once (first ceasing to name itself
 * the leader); a failed start as leader gives the lease back; stop releases it. The keeper renews
 * only while the process says it is alive, or within a busy spell it announced.
 * (test/integration/redis-lease.test.ts: the keeper on its own thread.)
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { Election } from '../../../src/ha/election.js';
import { LeaseKeeper } from '../../../src/ha/lease-keeper.js';
import type { Lease, LeaseHolder } from '../../../src/ha/ports.js';

const LEASE_MS = 200;

class FakeLease implements Lease {
  free = true;
  epoch = 0;
  redisUp = true;
  renewals = 0;
  lastRenewalAt = 0;
  steppedDownAt = 0;
  releases = 0;
  holderAddress: string | undefined = 'other:9004';
  private mine = false;

  private redis(): void {
    if (!this.redisUp) throw new Error('redis unreachable');
  }
  acquisitions = 0;
  acquire(): Promise<number | undefined> {
    this.acquisitions++;
    this.redis();
    if (!this.free) return Promise.resolve(undefined);
    this.free = false;
    this.mine = true;
    this.lastRenewalAt = performance.now();
    return Promise.resolve(++this.epoch);
  }
  renew(): Promise<boolean> {
    this.redis();
    this.renewals++;
    // As in Redis, a lease that lapsed is gone (someone else may have it).
    if (performance.now() - this.lastRenewalAt > LEASE_MS) this.mine = false;
    if (this.mine) this.lastRenewalAt = performance.now();
    return Promise.resolve(this.mine);
  }
  release(): Promise<void> {
    this.redis();
    this.releases++;
    if (this.mine) this.free = true;
    this.mine = false;
    return Promise.resolve();
  }
  /** How long the holder's lease has left, as Redis would say. */
  holderExpiresInMs = LEASE_MS;
  holder(): Promise<LeaseHolder | undefined> {
    this.redis();
    return Promise.resolve(
      this.free || this.holderAddress === undefined
        ? undefined
        : { address: this.holderAddress, expiresInMs: this.holderExpiresInMs },
    );
  }
  takenByAnother(): void {
    this.mine = false;
    this.free = false;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Lets the lease lapse once the process has not said it is alive for this long. */
const STALL_MS = LEASE_MS * 2;

function watch(
  lease: FakeLease,
  lead: (epoch: number, busy: (ms: number) => void) => Promise<void> = () => Promise.resolve(),
) {
  const events: string[] = [];
  const election = new Election(
    new LeaseKeeper(lease, LEASE_MS, STALL_MS),
    LEASE_MS,
    { info: () => undefined, warn: () => undefined },
    {
      lead: async (epoch, busy) => {
        events.push(`lead ${epoch}`);
        await lead(epoch, busy);
      },
      follow: (holder) => events.push(`follow ${holder ?? 'nobody'}`),
      stepDown: (why) => {
        lease.steppedDownAt = performance.now();
        events.push(`stepDown ${why}`);
        return Promise.resolve();
      },
    },
  );
  return { election, events };
}

/** Blocks this thread (and so the keeper, on the same thread here) for `ms`. */
function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('Election', () => {
  it('follows while the lease is held elsewhere, then leads with the new epoch and renews', async () => {
    const lease = new FakeLease();
    lease.free = false;
    const { election, events } = watch(lease);
    election.start();
    await sleep(LEASE_MS / 2);
    assert.equal(events[0], 'follow other:9004');
    lease.free = true;
    await sleep(LEASE_MS);
    assert.ok(events.includes('lead 1'), events.join('; '));
    const renewed = lease.renewals;
    await sleep(LEASE_MS);
    assert.ok(lease.renewals >= renewed + 2, 'renews about three times per period');
    await election.stop();
    assert.equal(lease.releases, 1);
    assert.equal(lease.free, true);
  });

  it("a follower tries again the moment the holder's lease expires, not a quarter period later", async () => {
    const lease = new FakeLease();
    lease.free = false;
    lease.holderExpiresInMs = 50;
    const events: string[] = [];
    // A 2 s lease: the next round would be 500 ms later without the holder's expiry.
    const election = new Election(
      new LeaseKeeper(lease, 2000, 10_000),
      2000,
      { info: () => undefined, warn: () => undefined },
      {
        lead: (epoch) => {
          events.push(`lead ${epoch}`);
          return Promise.resolve();
        },
        follow: (holder) => events.push(`follow ${holder ?? 'nobody'}`),
        stepDown: () => Promise.resolve(),
      },
    );
    election.start();
    await sleep(20);
    assert.deepEqual(events, ['follow other:9004']);
    lease.free = true; // it expired
    await sleep(250);
    assert.deepEqual(events, ['follow other:9004', 'lead 1']);
    assert.equal(lease.acquisitions, 2);
    await election.stop();
  });

  it('a leader that loses Redis steps down within 80% of the lease, not later', async () => {
    const lease = new FakeLease();
    const { election, events } = watch(lease);
    election.start();
    await sleep(50);
    assert.deepEqual(events, ['lead 1']);
    lease.redisUp = false;
    while (!events.some((e) => e.startsWith('stepDown'))) await sleep(5);
    // The lease counts from the last renewal Redis took: stepping down must come before it ends.
    assert.ok(
      lease.steppedDownAt - lease.lastRenewalAt < LEASE_MS,
      `stepped down ${Math.round(lease.steppedDownAt - lease.lastRenewalAt)} ms after the last renewal`,
    );
    assert.match(
      events.at(-1) ?? '',
      /^stepDown the lease could not be renewed in time: redis unreachable/,
    );
    // It stops naming itself as the leader before it stops leading.
    assert.equal(events.at(-2), 'follow nobody');
    // Standing by while Redis is away: nobody is followed.
    await sleep(LEASE_MS / 2);
    assert.equal(events.at(-1), 'follow nobody');
    await election.stop();
  });

  it('steps down once a renewal finds the lease taken over, well within the period', async () => {
    const lease = new FakeLease();
    const { election, events } = watch(lease);
    election.start();
    await sleep(50);
    lease.takenByAnother();
    await sleep(LEASE_MS / 2);
    assert.deepEqual(events.slice(0, 3), [
      'lead 1',
      'follow nobody',
      'stepDown the lease was taken over',
    ]);
    await election.stop();
    assert.equal(lease.releases, 0, 'a lease taken over is not released');
  });

  it('gives the lease back when it cannot start leading', async () => {
    const lease = new FakeLease();
    const { election, events } = watch(lease, () => Promise.reject(new Error('restore failed')));
    election.start();
    await sleep(50);
    assert.deepEqual(events.slice(0, 3), [
      'lead 1',
      'follow nobody',
      'stepDown start-up as leader failed',
    ]);
    assert.equal(lease.releases, 1);
    await election.stop();
  });

  it('a leader stuck past the lease (keeper on the same thread) steps down once it is back', async () => {
    const lease = new FakeLease();
    const { election, events } = watch(lease, () => {
      block(LEASE_MS * 2);
      return Promise.resolve();
    });
    election.start();
    await sleep(LEASE_MS * 3);
    assert.match(
      events.find((e) => e.startsWith('stepDown')) ?? events.join('; '),
      // Whichever comes first once it is back: its watch, or its keeper finding the lease gone.
      /^stepDown the lease (could not be renewed in time|was taken over): this process was unresponsive for \d+ ms/,
    );
    await election.stop();
  });

  it('a new term starts only once the last step-down is over (its core stopped)', async () => {
    const lease = new FakeLease();
    const events: string[] = [];
    const election = new Election(
      new LeaseKeeper(lease, LEASE_MS, STALL_MS),
      LEASE_MS,
      { info: () => undefined, warn: () => undefined },
      {
        lead: (epoch) => {
          events.push(`lead ${epoch}`);
          return Promise.resolve();
        },
        follow: () => undefined,
        stepDown: async () => {
          events.push('stepDown begins');
          await sleep(LEASE_MS);
          events.push('stepDown ends');
        },
      },
    );
    election.start();
    await sleep(LEASE_MS / 2);
    election.resign('a write was fenced'); // steps down outside the renewal rounds
    // The lease is given up at once (renewals stop), yet the next term waits for the step-down.
    await sleep(LEASE_MS / 2);
    assert.equal(lease.free, true);
    await sleep(LEASE_MS * 2);
    assert.deepEqual(events, ['lead 1', 'stepDown begins', 'stepDown ends', 'lead 2']);
    await election.stop();
  });
});

describe('LeaseKeeper', () => {
  async function kept(stallMs = STALL_MS) {
    const lease = new FakeLease();
    const keeper = new LeaseKeeper(lease, LEASE_MS, stallMs);
    const sentAt = Date.now();
    assert.equal(await keeper.acquire(), 1);
    assert.ok(keeper.expires() >= sentAt + LEASE_MS, 'held for a period from the acquisition');
    return { lease, keeper };
  }

  it('renews every third of the period while told the process is alive, moving expires on', async () => {
    const { lease, keeper } = await kept();
    const first = keeper.expires();
    for (let i = 0; i < 6; i++) {
      keeper.alive();
      await sleep(LEASE_MS / 3);
    }
    assert.ok(lease.renewals >= 4, `${lease.renewals} renewals`);
    assert.ok(keeper.expires() > first + LEASE_MS, 'expires moved on with the renewals');
    await keeper.close();
  });

  it('stops renewing once the process has not said it is alive within the bound, and resumes', async () => {
    const { lease, keeper } = await kept();
    await sleep(STALL_MS + LEASE_MS);
    const renewals = lease.renewals;
    await sleep(LEASE_MS);
    assert.equal(lease.renewals, renewals, 'no renewal for a process silent past the bound');
    assert.ok(keeper.expires() < Date.now(), 'so the lease lapses');
    keeper.alive();
    await sleep(LEASE_MS / 2);
    assert.ok(lease.renewals > renewals, 'renewed again once the process is back');
    await keeper.close();
  });

  it('keeps renewing through a busy spell the process announced, past the bound', async () => {
    const { lease, keeper } = await kept();
    keeper.alive(STALL_MS * 3);
    await sleep(STALL_MS * 2);
    const renewals = lease.renewals;
    await sleep(LEASE_MS);
    assert.ok(lease.renewals > renewals, 'still renewing within the busy spell');
    assert.ok(keeper.expires() > Date.now());
    await keeper.close();
  });

  it('a lease taken over: expires 0, and release gives nothing up', async () => {
    const { lease, keeper } = await kept();
    lease.takenByAnother();
    keeper.alive();
    await sleep(LEASE_MS / 2);
    assert.equal(keeper.expires(), 0);
    await keeper.release();
    assert.equal(lease.releases, 0);
    await keeper.close();
  });

  it('failing renewals say why and leave expires where it was; release stops them', async () => {
    const { lease, keeper } = await kept();
    const expires = keeper.expires();
    lease.redisUp = false;
    keeper.alive();
    await sleep(LEASE_MS / 2);
    assert.equal(keeper.renewalError(), 'redis unreachable');
    assert.equal(keeper.expires(), expires);
    lease.redisUp = true;
    keeper.alive();
    await sleep(LEASE_MS / 3);
    assert.equal(keeper.renewalError(), undefined);
    await keeper.release();
    assert.equal(keeper.expires(), 0);
    assert.equal(lease.releases, 1);
    const renewals = lease.renewals;
    keeper.alive();
    await sleep(LEASE_MS);
    assert.equal(lease.renewals, renewals, 'nothing renewed after release');
    await keeper.close();
  });
});
