import type { Actor } from 'xstate';
import { reservesMemory } from '../../domain/model.js';
import type { replicaMachine } from '../replica/replica.machine.js';
import { replicaStateOf } from './views.js';

type ReplicaActor = Actor<typeof replicaMachine>;

/**
 * The model replicas placed on one server replica. Those whose memory is promised to a load the
 * agent has not reported yet, and those that hold or await a model, are also kept apart, with the
 * models held counted, so that placement (reserved memory), scale-down ("is anything here") and
 * server status (models loaded) cost what changed, not everything hosted (which made loading N
 * models cost N²).
 * The owner calls {@link update} after every transition of a hosted replica.
 */
export class HostedReplicas implements Iterable<ReplicaActor> {
  private readonly all = new Set<ReplicaActor>();
  private readonly reserving = new Set<ReplicaActor>();
  private readonly busy = new Set<ReplicaActor>();
  private readonly holding = new Set<ReplicaActor>();
  /** How many of the holding replicas belong to each model (versions of one model count once). */
  private readonly heldModels = new Map<string, number>();

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
    this.setHolding(r, false);
  }

  /** Re-reads a replica's state after it changed (a replica not hosted here is ignored). */
  update(r: ReplicaActor): void {
    if (!this.all.has(r)) return;
    const snap = r.getSnapshot();
    const reserves = reservesMemory(replicaStateOf(snap));
    toggle(this.reserving, r, reserves || snap.context.loadInFlight);
    toggle(this.busy, r, reserves || snap.context.holdsModel);
    this.setHolding(r, snap.context.holdsModel);
  }

  /** How many distinct models some replica here holds. */
  heldModelCount(): number {
    return this.heldModels.size;
  }

  private setHolding(r: ReplicaActor, holds: boolean): void {
    if (holds === this.holding.has(r)) return;
    const model = r.getSnapshot().context.model;
    const n = (this.heldModels.get(model) ?? 0) + (holds ? 1 : -1);
    if (holds) this.holding.add(r);
    else this.holding.delete(r);
    if (n > 0) this.heldModels.set(model, n);
    else this.heldModels.delete(model);
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
