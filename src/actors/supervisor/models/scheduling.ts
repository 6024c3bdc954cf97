// Placement of a model's latest version, and the indexes that find the models waiting for capacity.
import { requiredMemory } from '../../../domain/model.js';
import type {
  CurrentReplica,
  PlacementRequest,
  PlacementServer,
} from '../../../placement/types.js';
import { earlier } from '../due-times.js';
import { modelStateOf, replicaStateOf } from '../views.js';
import { considerScaleUp } from './scaling.js';
import {
  latestOf,
  type ModelEntry,
  type Models,
  type ServerEntry,
  type VersionEntry,
} from './state.js';
import {
  addVersion,
  isActive,
  moveVersion,
  recompute,
  replicaEntry,
  resetServer,
  sendReplica,
} from './steps.js';

/** One scheduling run for the model's latest version (or its unload when deleted). */
export function schedule(s: Models, name: string): void {
  const m = s.models.get(name);
  const latest = m && latestOf(m);
  if (!m || !latest) return;
  s.scheduled.add(name);
  const at = s.opts.now();
  if (m.deleted) {
    for (const v of m.versions) {
      for (const r of v.replicas.values()) {
        if (r.hasTag('leaving')) continue;
        const draining = replicaStateOf(r) === 'draining';
        sendReplica(s, m, v, r, {
          type:
            v === latest && !draining
              ? 'placement.unloadEnvoyRequested'
              : 'placement.unloadRequested',
          at,
        });
      }
    }
    s.changes.models.add(name);
    return;
  }
  const deployment = latest.definition.deployment;
  const replicas = deployment?.replicas ?? 0;
  // After a restart, a version placed on replicas whose agents have not reconnected yet stays as
  // it is until they return or the grace ends (both place it again), unless it has too many.
  const rep = s.servers.get(latest.server)?.replicas;
  const placed = [...latest.replicas.values()].filter((r) => r.hasTag('onReplica'));
  if (
    placed.length <= replicas &&
    [...latest.replicas.keys()].some((idx) => rep?.get(idx)?.awaitingAgent)
  ) {
    recompute(s, m, latest);
    return;
  }
  const result = s.place(name, placementRequest(latest), placementView(s));
  // Seldon parity: a version already on a server that cannot get all its replicas asks for more.
  if ((!result.ok || result.partial) && latest.server !== '') considerScaleUp(s, latest.server);
  if (!result.ok) {
    // Whatever cannot be placed, no more replicas serve than wanted (a drained replica whose agent
    // came back announcing its copy would otherwise serve beside its replacement).
    unloadSurplus(s, m, latest, replicas, at);
    const states = [...latest.replicas.values()].map((r) => replicaStateOf(r));
    const serving = states.filter(
      (st) => st === 'loaded' || st === 'available' || st === 'loadedUnavailable',
    ).length;
    if (replicas > 0 && serving >= replicas) {
      // It already serves every replica it wants, none of them draining: no room for it elsewhere
      // changes nothing about it (its server declared with 0 replicas, or no longer shared, keeps
      // it until its replicas go, as that declaration itself did). Its state follows its replicas,
      // so placing it again, or an identical LoadModel, leaves it as it is.
      recompute(s, m, latest);
      return;
    }
    let assigned = serving;
    if (assigned === 0) assigned = states.filter((st) => st === 'draining').length;
    // Several draining replicas may still serve one wanted replica: never report more than wanted.
    assigned = Math.min(assigned, replicas);
    latest.actor.send({
      type: 'placement.failed',
      at,
      reason: result.reason,
      availableReplicas: assigned,
      unavailableReplicas: Math.max(0, replicas - assigned),
    });
    // With nothing left on its server, the version may later be placed anywhere without a new
    // version number. Replicas still busy (loading, unloading) keep it where it is.
    if ([...latest.replicas.values()].every((r) => r.hasTag('inactive'))) {
      resetServer(s, m, latest);
    }
    s.changes.models.add(name);
    return;
  }
  let target = latest;
  if (latest.server !== '' && latest.server !== result.server) {
    // Seldon parity: moving to another server makes a new version; the old one serves until then.
    target = addVersion(s, m, latest.version + 1, latest.definition);
  }
  moveVersion(s, m, target, result.server);
  const chosen = new Set(result.replicaIdxs);
  let changed = false;
  for (const idx of result.replicaIdxs) {
    const r = replicaEntry(s, m, target, idx);
    if (!r.hasTag('loadSent') && replicaStateOf(r) !== 'draining') {
      changed = sendReplica(s, m, target, r, { type: 'placement.loadRequested', at }) || changed;
    }
  }
  for (const [idx, r] of target.replicas) {
    if (chosen.has(idx)) continue;
    if (!r.hasTag('leaving') && replicaStateOf(r) !== 'draining') {
      changed =
        sendReplica(s, m, target, r, { type: 'placement.unloadEnvoyRequested', at }) || changed;
    }
  }
  // Its state is derived once the command has settled its replicas (see settleModel).
  if (changed || modelStateOf(target.actor) === 'scheduleFailed' || result.partial) {
    s.dirty.add(target);
    s.changes.models.add(m.name);
  }
}

/** What placement is asked for a version: its needs, and where its replicas are now. */
export function placementRequest(v: VersionEntry): PlacementRequest {
  const { spec, deployment } = v.definition;
  const current: Record<number, CurrentReplica> = {};
  for (const [idx, r] of v.replicas) {
    current[idx] = { placed: r.hasTag('placed'), loadSent: r.hasTag('loadSent') };
  }
  return {
    requirements: spec.requirements,
    requiredMemory: requiredMemory(spec),
    server: spec.server,
    explainer: spec.explainer !== undefined,
    replicas: deployment?.replicas ?? 0,
    minReplicas: deployment?.minReplicas ?? 0,
    currentServer: v.server,
    current,
  };
}

/**
 * Unloads the version's loaded replicas beyond `wanted`, keeping those on replicas that are not
 * draining first, then the lowest replica indices.
 */
function unloadSurplus(
  s: Models,
  m: ModelEntry,
  v: VersionEntry,
  wanted: number,
  at: number,
): void {
  const draining = (idx: number) =>
    s.servers.get(v.server)?.replicas.get(idx)?.actor.hasTag('draining') ?? false;
  const loaded = [...v.replicas]
    .filter(([, r]) => {
      const st = replicaStateOf(r);
      return st === 'loaded' || st === 'available' || st === 'loadedUnavailable';
    })
    .sort(([a], [b]) => Number(draining(a)) - Number(draining(b)) || a - b);
  for (const [, r] of loaded.slice(wanted)) {
    sendReplica(s, m, v, r, { type: 'placement.unloadEnvoyRequested', at });
  }
}

/** Retries models waiting for capacity: ScheduleFailed, or fewer replicas than desired. */
export function retryWaiting(s: Models): void {
  // The index is as of the last finish: what changed since is looked at too.
  for (const name of [...s.waiting, ...s.changes.models]) {
    if (!s.scheduled.has(name) && isWaiting(s, name)) schedule(s, name);
  }
}

/**
 * Whether the model waits for capacity: its latest version could not be placed, or has fewer
 * replicas than it wants.
 */
export function isWaiting(s: Models, name: string): boolean {
  const m = s.models.get(name);
  const latest = m && !m.deleted ? latestOf(m) : undefined;
  if (!latest) return false;
  const st = modelStateOf(latest.actor);
  const want = latest.definition.deployment?.replicas ?? 0;
  return (
    st === 'scheduleFailed' ||
    ((st === 'available' || st === 'progressing') &&
      latest.actor.context.availableReplicas + latest.actor.context.unavailableReplicas < want)
  );
}

/** When the model's purge (deleted, nothing left) or load retry is due, or undefined. */
export function dueOf(s: Models, name: string): number | undefined {
  const m = s.models.get(name);
  if (!m) return undefined;
  if (m.deleted) return isActive(m) ? undefined : m.deletedAt + s.opts.deletedTtlMs;
  return m.retry.dueAt > 0 ? m.retry.dueAt : undefined;
}

/** When the next retry, purge or end of the reconnect grace is due (ms since epoch). */
export function nextDueAt(s: Models): number | undefined {
  return earlier(s.dues.next(), s.grace.dueAt);
}

/** Brings the indexes kept for speed up to date for a model that changed (or was restored). */
export function reindex(s: Models, name: string): void {
  s.dues.set(name, dueOf(s, name));
  if (isWaiting(s, name)) s.waiting.add(name);
  else s.waiting.delete(name);
}

/**
 * What placement sees: the servers by name, each with the replicas whose agents are connected.
 * Kept until a server or replica comes or goes; what changes in between (memory, reservations,
 * draining, declarations) is read from the actors when placement asks.
 */
export function placementView(s: Models): readonly PlacementServer[] {
  s.views ??= [...s.servers.values()]
    .map((server) => (server.view ??= placementServer(server)))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  return s.views;
}

/** Placement's view of a server: its declaration read live, its connected replicas as of now. */
export function placementServer(s: ServerEntry): PlacementServer {
  const ctx = () => s.actor.context;
  return {
    name: ctx().name,
    get shared() {
      return ctx().shared;
    },
    get expectedReplicas() {
      return ctx().expectedReplicas;
    },
    replicas: [...s.replicas.values()].filter((rep) => !rep.awaitingAgent),
  };
}
