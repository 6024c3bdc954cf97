// What agents report: replicas joining, leaving and draining, and the outcomes of their ops.
import { Cell } from '../../cell.js';
import { failedPrecondition } from '../../../domain/errors.js';
import { requiredMemory, sameSpec, type ReplicaState } from '../../../domain/model.js';
import type { Changes } from '../../gateways.js';
import type { ReplicaEvent } from '../../replica/replica.events.js';
import { serverReplicaMachine } from '../../server/server-replica.machine.js';
import { replicaStateOf, type AgentReport, type ReplicaJoin } from '../views.js';
import { schedule } from './scheduling.js';
import { finish } from './settling.js';
import {
  latestOf,
  replicasChanged,
  ServerReplicaEntry,
  type Models,
  type ReplicaActor,
} from './state.js';
import {
  addVersion,
  moveVersion,
  placedOnItsServer,
  recompute,
  removeReplica,
  replicaEntry,
  sendReplica,
  serverEntry,
} from './steps.js';

/** An agent subscribed for one server replica, re-announcing what it has loaded. */
export function replicaJoined(s: Models, join: ReplicaJoin): Changes {
  const at = s.opts.now();
  // A replica seen before (a restored one, or a stream that ended unnoticed) starts afresh: what
  // its agent still holds comes back with the announcement below, without a reload. Retiring
  // versions' replicas stay on it (marked Unloaded unless announced).
  const previous = s.servers.get(join.server)?.replicas.get(join.idx);
  const dropped = previous
    ? dropServerReplica(s, join.server, join.idx, true, reannounced(s, join))
    : new Set<string>();
  const server = serverEntry(s, join.server, join.shared);
  const actor = Cell.of(serverReplicaMachine, {
    input: {
      server: join.server,
      idx: join.idx,
      config: join.config,
      availableMemoryBytes: join.availableMemoryBytes,
      at,
    },
  });
  const entry = new ServerReplicaEntry(actor, false, previous?.hosted);
  server.replicas.set(join.idx, entry);
  replicasChanged(s, server);
  server.actor.send({ type: 'agent.replicaJoined', at, shared: join.shared });
  s.changes.servers.add(join.server);

  const announced = new Set<string>();
  for (const { definition, version } of join.loaded) {
    const name = definition.meta.name;
    let m = s.models.get(name);
    if (!m) {
      // A model known only from its agents (its record was lost): it is taken as announced.
      m = { name, deleted: false, deletedAt: 0, versions: [], retry: { attempts: 0, dueAt: 0 } };
      s.models.set(name, m);
      addVersion(s, m, version, definition);
    }
    const v = m.versions.find((x) => x.version === version);
    // A copy of another incarnation of the model, or of a version now placed on another server
    // (the agent came back late), is unloaded: a version lives on one server, as defined now.
    if (
      !v ||
      !sameSpec(v.definition, definition) ||
      (v.server !== join.server && placedOnItsServer(v))
    ) {
      entry.staleCopies.add(`${name}:${version}`);
      s.opts.agents.send(join.server, join.idx, {
        operation: 'unload',
        definition,
        version,
        autoscalingEnabled: false,
      });
      continue;
    }
    if (v.server !== join.server) moveVersion(s, m, v, join.server);
    const r = replicaEntry(s, m, v, join.idx);
    // A replica serving what its agent still holds stays as it is: after a restart or take-over,
    // agents re-announce every model they hold, and nothing of those changes.
    if (r.value === 'available' && r.context.holdsModel) continue;
    sendReplica(s, m, v, r, { type: 'agent.announced', at });
    announced.add(name);
  }
  for (const name of new Set([...dropped, ...announced])) schedule(s, name);
  s.capacityChanged = true;
  return finish(s);
}

/**
 * The replicas on a rejoining server replica that its agent re-announces as they are (the latest
 * version, same spec): they are kept, and the announcement makes them Loaded as it would a new
 * one, without replacing thousands of actors (and their versions' states) in one call.
 */
function reannounced(s: Models, join: ReplicaJoin): Set<ReplicaActor> {
  const keep = new Set<ReplicaActor>();
  for (const { definition, version } of join.loaded) {
    const m = s.models.get(definition.meta.name);
    const v = m && latestOf(m);
    const r = v?.server === join.server ? v.replicas.get(join.idx) : undefined;
    if (r && !m?.deleted && v?.version === version && sameSpec(v.definition, definition)) {
      keep.add(r);
    }
  }
  return keep;
}

/** An agent's Subscribe stream ended: its replica leaves and its models are placed again. */
export function replicaLeft(s: Models, server: string, idx: number): Changes {
  const affected = dropServerReplica(s, server, idx);
  for (const name of affected) schedule(s, name);
  s.capacityChanged = true;
  return finish(s);
}

/**
 * AgentDrain: the replica takes no new models and every model on it is placed elsewhere.
 * @returns the models that must become Available elsewhere before the drain is complete.
 */
export function drain(
  s: Models,
  server: string,
  idx: number,
): { changes: Changes; models: string[] } {
  const at = s.opts.now();
  const rep = s.servers.get(server)?.replicas.get(idx);
  if (!rep) return { changes: finish(s), models: [] };
  rep.actor.send({ type: 'agent.drainRequested', at });
  s.changes.servers.add(server);
  const models = new Set<string>();
  for (const r of [...rep.hosted]) {
    const { model, version } = r.context;
    const m = s.models.get(model);
    const v = m?.versions.find((x) => x.version === version);
    if (m && v && sendReplica(s, m, v, r, { type: 'server.drain', at })) models.add(model);
  }
  for (const name of models) schedule(s, name);
  s.capacityChanged = true;
  return { changes: finish(s), models: [...models] };
}

/**
 * An agent reported the outcome of an op.
 * @throws SchedulerError FailedPrecondition when the model, version, server or replica state does
 *   not match (a stale or misdirected report; the reference answers Internal).
 */
export function agentEvent(s: Models, report: AgentReport): Changes {
  const at = s.opts.now();
  const m = s.models.get(report.model);
  if (!m) throw failedPrecondition(`modelName: failed to find model ${report.model}`);
  const v = m.versions.find((x) => x.version === report.version);
  if (!v) {
    throw failedPrecondition(
      `modelVersion: Version not found for model ${report.model}, version ${report.version}`,
    );
  }
  const rep = s.servers.get(report.server)?.replicas.get(report.idx);
  if (!s.servers.has(report.server)) {
    throw failedPrecondition(`serverName: failed to find server ${report.server}`);
  }
  if (!rep) {
    throw failedPrecondition(
      `replicaIdx: server ${report.server} has no connected replica ${report.idx}`,
    );
  }
  // The agent's free memory is a fact whatever the state check below decides.
  rep.actor.send({
    type: 'agent.memoryReported',
    at,
    availableMemoryBytes: report.availableMemoryBytes,
  });
  s.changes.servers.add(report.server);
  const copy = `${report.model}:${report.version}`;
  if (report.event === 'unloaded' && rep.staleCopies.delete(copy)) {
    s.capacityChanged = true;
    return finish(s);
  }
  const r = v.server === report.server ? v.replicas.get(report.idx) : undefined;
  const current: ReplicaState = r ? replicaStateOf(r) : 'unknown';
  const mismatch = (expected: ReplicaState, desired: ReplicaState) =>
    failedPrecondition(
      `event: State mismatch for ${report.model}:${report.version} expected state ${goName(expected)} but was ${goName(current)} when trying to move to state ${goName(desired)}`,
    );
  let event: ReplicaEvent;
  let expected: ReplicaState;
  let desired: ReplicaState;
  switch (report.event) {
    case 'loaded':
      event = { type: 'agent.loaded', at };
      [expected, desired] = ['loading', 'loaded'];
      break;
    case 'loadFailed':
      event = { type: 'agent.loadFailed', at, reason: report.message };
      [expected, desired] = ['loading', 'loadFailed'];
      break;
    case 'unloaded':
      event = { type: 'agent.unloaded', at };
      [expected, desired] = ['unloading', 'unloaded'];
      break;
    case 'unloadFailed':
      event = { type: 'agent.unloadFailed', at, reason: report.message };
      [expected, desired] = ['unloading', 'unloadFailed'];
      break;
    case 'other':
      if (r) throw mismatch('unknown', 'unknown');
      return finish(s);
  }
  if (!r || current !== expected) throw mismatch(expected, desired);
  sendReplica(s, m, v, r, event);
  if (report.event === 'loaded' && report.runtimeInfo && !v.definition.spec.runtimeInfo) {
    v.definition = {
      ...v.definition,
      spec: { ...v.definition.spec, runtimeInfo: report.runtimeInfo },
    };
    // The memory it needs may have changed (workers × memory): so has what its loads reserve.
    const bytes = requiredMemory(v.definition.spec);
    for (const [i, replica] of v.replicas) {
      s.servers.get(v.server)?.replicas.get(i)?.hosted.add(replica, bytes);
    }
  }
  if (report.event === 'loadFailed' && v === latestOf(m)) {
    m.retry.attempts++;
    m.retry.dueAt =
      at + Math.min(s.opts.retryMaxMs, s.opts.retryBaseMs * 2 ** (m.retry.attempts - 1));
  }
  if (report.event === 'loaded' && v === latestOf(m)) m.retry = { attempts: 0, dueAt: 0 };
  if (report.event !== 'loaded') s.capacityChanged = true;
  return finish(s);
}

/**
 * Removes a server replica; its model replicas are dropped (latest versions of live models, to be
 * placed again) or marked Unloaded (retiring versions), except those in `keep` (a rejoining
 * replica's re-announced ones). @returns the models to place again.
 */
export function dropServerReplica(
  s: Models,
  server: string,
  idx: number,
  rejoining = false,
  keep: ReadonlySet<ReplicaActor> = new Set(),
): Set<string> {
  const at = s.opts.now();
  const entry = s.servers.get(server);
  const rep = entry?.replicas.get(idx);
  const affected = new Set<string>();
  if (!entry || !rep) return affected;
  for (const r of [...rep.hosted]) {
    if (keep.has(r)) continue;
    const { model, version } = r.context;
    const m = s.models.get(model);
    const v = m?.versions.find((x) => x.version === version);
    if (!m || !v) continue;
    if (m.deleted || v !== latestOf(m)) {
      sendReplica(s, m, v, r, { type: 'server.replicaGone', at });
    } else {
      removeReplica(s, v, idx);
      s.changes.models.add(model);
      recompute(s, m, v);
      affected.add(model);
    }
  }
  rep.actor.stop();
  entry.replicas.delete(idx);
  replicasChanged(s, entry);
  s.changes.servers.add(server);
  // A replica that rejoins is replaced at once: its server never lost it.
  if (rejoining) return affected;
  entry.actor.send({ type: 'agent.replicaLeft', at, remaining: entry.replicas.size });
  if (entry.replicas.size === 0) {
    entry.actor.stop();
    s.servers.delete(server);
  }
  return affected;
}

/** Seldon's Go names of replica states, used in its error texts. */
function goName(st: ReplicaState): string {
  return st === 'unknown' ? 'ModelReplicaStateUnknown' : st.charAt(0).toUpperCase() + st.slice(1);
}
