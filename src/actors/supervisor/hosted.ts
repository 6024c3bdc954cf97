import type { Cell } from '../cell.js';
import type { replicaMachine } from '../replica/replica.machine.js';

type ReplicaActor = Cell<typeof replicaMachine>;

/**
 * The model replicas placed on one server replica, each with the memory its model needs. Those
 * whose memory is promised to a load the agent has not reported yet (with their sum), and those
 * that hold or await a model, are also kept apart, with the models held counted, so that placement
 * (reserved memory), scale-down ("is anything here") and server status (models loaded) cost O(1),
 * not a walk of everything hosted or in flight (which made loading N models cost N²).
 * The owner calls {@link update} after every transition of a hosted replica.
 */
export class HostedReplicas implements Iterable<ReplicaActor> {
  /** Each hosted replica with the memory (bytes) its model version needs. */
  private readonly all = new Map<ReplicaActor, number>();
  private readonly reserving = new Set<ReplicaActor>();
  private reservingBytes = 0;
  private readonly busy = new Set<ReplicaActor>();
  private readonly holding = new Set<ReplicaActor>();
  /** How many of the holding replicas belong to each model (versions of one model count once). */
  private readonly heldModels = new Map<string, number>();

  constructor(from?: HostedReplicas) {
    if (from) for (const [r, bytes] of from.all) this.add(r, bytes);
  }

  get size(): number {
    return this.all.size;
  }

  [Symbol.iterator](): Iterator<ReplicaActor> {
    return this.all.keys();
  }

  /** Hosts `r`, whose model version needs `memoryBytes` (again, when that changed). */
  add(r: ReplicaActor, memoryBytes: number): void {
    const before = this.all.get(r);
    this.all.set(r, memoryBytes);
    if (before !== undefined && this.reserving.has(r)) this.reservingBytes += memoryBytes - before;
    this.update(r);
  }

  delete(r: ReplicaActor): void {
    this.setReserving(r, false);
    this.all.delete(r);
    this.busy.delete(r);
    this.setHolding(r, false);
  }

  /** Re-reads a replica's state after it changed (a replica not hosted here is ignored). */
  update(r: ReplicaActor): void {
    if (!this.all.has(r)) return;
    const reserves = r.hasTag('reservesMemory');
    this.setReserving(r, reserves || r.context.loadInFlight);
    toggle(this.busy, r, reserves || r.context.holdsModel);
    this.setHolding(r, r.context.holdsModel);
  }

  /** How many distinct models some replica here holds. */
  heldModelCount(): number {
    return this.heldModels.size;
  }

  private setReserving(r: ReplicaActor, on: boolean): void {
    if (on === this.reserving.has(r)) return;
    const bytes = this.all.get(r) ?? 0;
    if (on) this.reserving.add(r);
    else this.reserving.delete(r);
    this.reservingBytes += on ? bytes : -bytes;
  }

  private setHolding(r: ReplicaActor, holds: boolean): void {
    if (holds === this.holding.has(r)) return;
    const model = r.context.model;
    const n = (this.heldModels.get(model) ?? 0) + (holds ? 1 : -1);
    if (holds) this.holding.add(r);
    else this.holding.delete(r);
    if (n > 0) this.heldModels.set(model, n);
    else this.heldModels.delete(model);
  }

  /** The models held here, each with the memory its replicas here need (what unloading frees). */
  holdings(): { model: string; bytes: number }[] {
    const bytes = new Map<string, number>();
    for (const r of this.holding) {
      bytes.set(r.context.model, (bytes.get(r.context.model) ?? 0) + (this.all.get(r) ?? 0));
    }
    return [...bytes].map(([model, b]) => ({ model, bytes: b }));
  }

  /** Memory reserved for loads requested, sent or in flight and not yet reported (bytes). */
  reservedBytes(): number {
    return this.reservingBytes;
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
