import { status, type StatusObject } from '@grpc/grpc-js';
import type { HaStatus } from '../observability/metrics.js';
import type { Term } from './term.js';

/**
 * What this instance is at the moment: the leader, with its term (alone, from start to stop), or
 * a standby (`--ha`) that names the leader. The ports ask it at every call and health probe.
 */
export class Role {
  /** The term while this instance leads; none on a standby. */
  term: Term | undefined;
  /** The leader a standby last heard of. */
  leader: string | undefined;
  /**
   * With --ha: whether the lease is surely held, checked at each call and health probe too, not
   * only by the election's timer, which an event loop busy for a moment runs late.
   */
  leaseHeld: () => boolean = () => true;
  /** With --ha: the terms led, the step-downs and the last take-over's time (`mlsched_ha_*`). */
  readonly counts = { terms: 0, stepDowns: 0, lastTakeoverMs: undefined as number | undefined };

  /** The term, while this instance may answer for it. */
  active(): Term | undefined {
    return this.leaseHeld() ? this.term : undefined;
  }

  /** Who leads, as far as a standby knows (none while this one is between leading and not). */
  named(): string | undefined {
    return this.term === undefined ? this.leader : undefined;
  }

  /** Why a standby answers nothing, naming the leader. */
  standby(): string {
    const at = this.named();
    return `this scheduler is a standby; ${at === undefined ? 'no scheduler leads at the moment, retry shortly' : `the leader is at ${at}`}`;
  }

  /** A standby's answer to a gRPC call. */
  refusal(): Partial<StatusObject> {
    return { code: status.UNAVAILABLE, details: this.standby() };
  }

  /** Leadership as the process metrics show it. */
  haStatus(): HaStatus {
    return { ...this.counts, leading: this.term !== undefined };
  }

  /** The actor system. @throws Error on a standby, which has none until it leads. */
  system() {
    if (!this.term) throw new Error('this scheduler is a standby: it has no system');
    return this.term.system;
  }
}
