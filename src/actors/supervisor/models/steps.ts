// Single steps on a model's entries and cells (a replica event, a new version, a move), which
// scheduling, settling and agent reports compose. Each records what it changed in the state.
import { Cell } from '../../cell.js';
import {
  requiredMemory,
  summarizeReplicas,
  type ModelDefinition,
  type ModelState,
} from '../../../domain/model.js';
import { modelVersionMachine } from '../../model/model.machine.js';
import { replicaMachine } from '../../replica/replica.machine.js';
import type { ReplicaEvent } from '../../replica/replica.events.js';
import { serverMachine } from '../../server/server.machine.js';
import { modelStateOf, replicaStateOf } from '../views.js';
import { considerScaleDown } from './scaling.js';
import {
  latestOf,
  replicasChanged,
  type ModelEntry,
  type Models,
  type ReplicaActor,
  type ServerEntry,
  type VersionEntry,
} from './state.js';

/**
 * Sends a replica event; returns whether its state changed. An event the replica does not take
 * leaves its snapshot as it was (the same object), which costs one lookup of its transitions.
 */
export function sendReplica(
  s: Models,
  m: ModelEntry,
  v: VersionEntry,
  r: ReplicaActor,
  event: ReplicaEvent,
): boolean {
  const before = r.value;
  if (!r.send(event)) return false;
  const { server, idx } = r.context;
  s.servers.get(server)?.replicas.get(idx)?.hosted.update(r);
  if (r.value === before) return false;
  s.changes.models.add(m.name);
  s.changes.servers.add(server);
  s.dirty.add(v);
  if (r.value === 'unloaded' || r.value === 'loadFailed') considerScaleDown(s, server);
  return true;
}

/** Writes a load or unload op for the version to the replica's agent; returns an error text. */
export function sendOp(
  s: Models,
  operation: 'load' | 'unload',
  v: VersionEntry,
  idx: number,
): string | undefined {
  return s.opts.agents.send(v.server, idx, {
    operation,
    definition: v.definition,
    version: v.version,
    autoscalingEnabled: false,
  });
}

/** Sends the version a fresh view of its replicas so its state follows them. */
export function recompute(s: Models, m: ModelEntry, v: VersionEntry): void {
  s.dirty.delete(v);
  const latest = latestOf(m);
  if (v.actor.status !== 'active') return;
  const facts = [...v.replicas.values()].map((r) => ({
    state: replicaStateOf(r),
    reason: r.context.reason,
    at: r.context.at,
  }));
  // A live latest version with no replicas keeps what placement recorded (nothing, or its failure).
  const state = modelStateOf(v.actor);
  const unplaced = state === 'unknown' || state === 'scheduleFailed';
  if (facts.length === 0 && unplaced && !m.deleted && v === latest) return;
  const changed = v.actor.send({
    type: 'replicas.changed',
    at: s.opts.now(),
    summary: summarizeReplicas(facts),
    retiring: m.deleted || v !== latest,
    replicas: v.definition.deployment?.replicas,
    minReplicas: v.definition.deployment?.minReplicas ?? 0,
    otherVersionAvailable: m.versions.some((o) => o !== v && modelStateOf(o.actor) === 'available'),
  });
  if (changed) s.changes.models.add(m.name);
}

export function addVersion(
  s: Models,
  m: ModelEntry,
  version: number,
  definition: ModelDefinition,
): VersionEntry {
  const v: VersionEntry = {
    version,
    definition,
    server: '',
    actor: Cell.of(modelVersionMachine, { input: { model: m.name, version } }),
    replicas: new Map(),
  };
  m.versions = [...m.versions.filter((x) => x.version !== version), v].sort(
    (a, b) => a.version - b.version,
  );
  s.changes.models.add(m.name);
  // Older versions keep their state (and serve) until their replicas move; empty ones retire now.
  for (const o of m.versions) if (o !== v && o.replicas.size === 0) recompute(s, m, o);
  return v;
}

/** Records the version's server; replica entries left on another server are dropped. */
export function moveVersion(s: Models, m: ModelEntry, v: VersionEntry, server: string): void {
  if (v.server === server) return;
  for (const idx of [...v.replicas.keys()]) removeReplica(s, v, idx);
  v.server = server;
  s.changes.models.add(m.name);
}

/** Some replica of the version on its own server holds the model or is about to. */
export function placedOnItsServer(v: VersionEntry): boolean {
  return [...v.replicas.values()].some(
    (r) => r.context.holdsModel || r.context.loadInFlight || !r.hasTag('inactive'),
  );
}

export function resetServer(s: Models, m: ModelEntry, v: VersionEntry): void {
  if (v.server === '') return;
  moveVersion(s, m, v, '');
}

export function replicaEntry(s: Models, m: ModelEntry, v: VersionEntry, idx: number): ReplicaActor {
  let r = v.replicas.get(idx);
  if (!r) {
    r = Cell.of(replicaMachine, {
      input: { model: m.name, version: v.version, server: v.server, idx },
    });
    v.replicas.set(idx, r);
  }
  // An entry kept from before its server replica left (Unloaded) is hosted again when it rejoins.
  s.servers.get(v.server)?.replicas.get(idx)?.hosted.add(r, requiredMemory(v.definition.spec));
  return r;
}

export function removeReplica(s: Models, v: VersionEntry, idx: number): void {
  const r = v.replicas.get(idx);
  if (!r) return;
  s.servers.get(v.server)?.replicas.get(idx)?.hosted.delete(r);
  r.stop();
  v.replicas.delete(idx);
  s.dirty.add(v);
}

export function serverEntry(s: Models, name: string, shared: boolean): ServerEntry {
  let entry = s.servers.get(name);
  if (!entry) {
    const actor = Cell.of(serverMachine, {
      input: { name, shared, at: s.opts.now() },
    });
    entry = { actor, replicas: new Map() };
    s.servers.set(name, entry);
    replicasChanged(s, entry);
  }
  return entry;
}

/**
 * A model is active while any of its versions still has a replica that is not inactive. (Seldon
 * looks at the latest version only, and so can forget an old version whose unload is in flight.)
 */
export function isActive(m: ModelEntry): boolean {
  return m.versions.some((v) => [...v.replicas.values()].some((r) => !r.hasTag('inactive')));
}

export function forget(s: Models, m: ModelEntry): void {
  for (const v of m.versions) {
    for (const idx of [...v.replicas.keys()]) removeReplica(s, v, idx);
    v.actor.stop();
  }
}

export function latestState(m: ModelEntry): ModelState | undefined {
  const latest = latestOf(m);
  return latest && modelStateOf(latest.actor);
}
