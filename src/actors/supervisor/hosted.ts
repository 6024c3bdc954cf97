import type { Actor } from 'xstate';
import { reservesMemory } from '../../domain/model.js';
import type { replicaMachine } from '../replica/replica.machine.js';
import { replicaStateOf } from './views.js';

type ReplicaActor = Actor<typeof replicaMachine>;

/**
 * The model replicas placed on one server replica. Those whose memory is promised to a load the
 * agent has not reported yet, and those that hold or await a model, are also kept apart, so that
 * placement reads the reserved memory and scale-down reads "is anything here" in time proportional
 * to the loads in flight, not to everything hosted (which made loading N models cost N²).
 * The owner calls {@link update} after every transition of a hosted replica.
 */
export class HostedReplicas implements Iterable<ReplicaActor> {
  private readonly all = new Set<ReplicaActor>();
  private readonly reserving = new Set<ReplicaActor>();
  private readonly busy = new Set<ReplicaActor>();

  constructor(from?: Iterable<ReplicaActor>) {
    if (from) for (const r of from) this.add(r);
  }

  get size(): number {
    return this.all.size;
  }

  [Symbol.iterator](): Iterator<ReplicaActor> {
    return this.all.values();
  }

  add(r: ReplicaActor): void {
    this.all.add(r);
    this.update(r);
  }

  delete(r: ReplicaActor): void {
    this.all.delete(r);
    this.reserving.delete(r);
    this.busy.delete(r);
  }

  /** Re-reads a replica's state after it changed (a replica not hosted here is ignored). */
  update(r: ReplicaActor): void {
    if (!this.all.has(r)) return;
    const snap = r.getSnapshot();
    const reserves = reservesMemory(replicaStateOf(snap));
    toggle(this.reserving, r, reserves || snap.context.loadInFlight);
    toggle(this.busy, r, reserves || snap.context.holdsModel);
  }

  /** Replicas whose memory is reserved: a load requested, sent or in flight, not yet reported. */
  inFlight(): Iterable<ReplicaActor> {
    return this.reserving.values();
  }

  /** Whether some replica here holds a model or has memory reserved for one. */
  isBusy(): boolean {
    return this.busy.size > 0;
  }
}

function toggle<T>(set: Set<T>, item: T, on: boolean): void {
  if (on) set.add(item);
  else set.delete(item);
}
