/**
 * The election on a fake lease: a follower takes a free lease and leads; a leader whose renewals
 * fail (Redis lost) steps down before the lease can expire elsewhere, and one told its lease is
 * gone steps down at once (first ceasing to name itself the leader); a failed start as leader gives
 * the lease back; stop releases it.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { Election } from '../../../src/store/election.js';
import type { Lease } from '../../../src/store/ports.js';

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
  acquire(): Promise<number | undefined> {
    this.redis();
    if (!this.free) return Promise.resolve(undefined);
    this.free = false;
    this.mine = true;
    this.lastRenewalAt = performance.now();
    return Promise.resolve(++this.epoch);
  }
  /** The longest period a renewal asked for. */
  longestTtl = 0;
  renew(ttlMs = LEASE_MS): Promise<boolean> {
    this.redis();
    this.renewals++;
    this.longestTtl = Math.max(this.longestTtl, ttlMs);
    this.lastRenewalAt = performance.now();
    return Promise.resolve(this.mine);
  }
  release(): Promise<void> {
    this.redis();
    this.releases++;
    if (this.mine) this.free = true;
    this.mine = false;
    return Promise.resolve();
  }
  holder(): Promise<string | undefined> {
    this.redis();
    return Promise.resolve(this.free ? undefined : this.holderAddress);
  }
  takenByAnother(): void {
    this.mine = false;
    this.free = false;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function watch(
  lease: FakeLease,
  lead: (epoch: number, hold: (ms: number) => Promise<boolean>) => Promise<void> = () =>
    Promise.resolve(),
) {
  const events: string[] = [];
  const election = new Election(
    lease,
    LEASE_MS,
    { info: () => undefined, warn: () => undefined },
    {
      lead: async (epoch, hold) => {
        events.push(`lead ${epoch}`);
        await lead(epoch, hold);
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

  it('steps down at once when a renewal finds the lease taken over', async () => {
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
  it('a leader that holds the lease through a long restore is not stopped by it', async () => {
    const lease = new FakeLease();
    const { election, events } = watch(lease, async (_epoch, hold) => {
      assert.equal(await hold(LEASE_MS * 5), true);
      // The restore: this process does nothing else for twice the lease period.
      const until = performance.now() + LEASE_MS * 2;
      while (performance.now() < until);
    });
    election.start();
    await sleep(LEASE_MS * 3);
    assert.equal(lease.longestTtl, LEASE_MS * 5);
    assert.deepEqual(events, ['lead 1'], 'still leading, and renewing as usual after');
    assert.ok(lease.renewals >= 3, `${lease.renewals} renewals`);
    await election.stop();
  });

  it('without holding it, the same restore ends the leadership once it is over', async () => {
    const lease = new FakeLease();
    const { election, events } = watch(lease, () => {
      const until = performance.now() + LEASE_MS * 2;
      while (performance.now() < until);
      return Promise.resolve();
    });
    election.start();
    await sleep(LEASE_MS * 3);
    assert.match(
      events.find((e) => e.startsWith('stepDown')) ?? events.join('; '),
      /^stepDown the lease could not be renewed in time: this process ran \d+ ms late/,
    );
    await election.stop();
  });
  it('a new term starts only once the last step-down is over (its core stopped)', async () => {
    const lease = new FakeLease();
    const events: string[] = [];
    const election = new Election(
      lease,
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
          // The lease is free again at once, while the old core still flushes.
          lease.free = true;
          await sleep(LEASE_MS);
          events.push('stepDown ends');
        },
      },
    );
    election.start();
    await sleep(LEASE_MS / 2);
    election.resign('a write was fenced'); // steps down outside the renewal rounds
    await sleep(LEASE_MS * 2);
    assert.deepEqual(events, ['lead 1', 'stepDown begins', 'stepDown ends', 'lead 2']);
    await election.stop();
  });
});
