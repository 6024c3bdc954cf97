// Why a model is where it is (or nowhere), and where models would go: placement's own decision,
// observed, on the state as it is or on a copy of it.
import type { ModelDefinition, ModelState } from '../../../domain/model.js';
import { replicaCapacity, type ServerDeclaration } from '../../../domain/server.js';
import {
  explainPlacement,
  type PlacementExplanation,
  type ReplicaDetails,
} from '../../../placement/explain.js';
import { freeMemory } from '../../../placement/filters.js';
import { modelStateOf } from '../views.js';
import { replicaJoined } from './agents.js';
import { loadModel, serverNotify } from './lifecycle.js';
import { copyOf, exportModel, exportServer, restoreModels } from './records.js';
import { placementRequest, placementView } from './scheduling.js';
import { latestOf, Models, type VersionEntry } from './state.js';

export interface ModelExplanation {
  readonly model: string;
  readonly version: number;
  readonly state: ModelState;
  /** The reason the model states now (ScheduleFailed's, a load failure's, ...). */
  readonly reason: string;
  /** The server its latest version is placed on; '' when none. */
  readonly server: string;
  /** The replicas of that server it is placed on (loading, loaded or asked to load). */
  readonly replicas: readonly number[];
  /** The replicas it wants (its deployment's). */
  readonly wantedReplicas: number;
  /** Why placement is not asked now (deleted, its replicas' agents not back yet). */
  readonly note?: string;
  /**
   * Server replicas restored after a restart whose agents are not back yet (`server/idx`):
   * placement does not see them, and the model's stated reason may be from before the restart
   * until they return or the reconnect grace ends (either places it again).
   */
  readonly awaitingAgents: readonly string[];
  /**
   * Why the version stays where placement would no longer put it: a draining replica, or a server
   * declared with 0 replicas. It serves there, winding down, until it can move or the replicas go.
   */
  readonly stays?: string;
  /** When a load failed on an agent: when placement runs again (ms since epoch). */
  readonly retryDueAt?: number;
  /** Placement's decision for the latest version, against the state as it is. */
  readonly placement?: PlacementExplanation;
}

/** Declared memory, over-commit and held models of each server replica. */
const detailsOf =
  (s: Models): ReplicaDetails =>
  (server, idx) => {
    const rep = s.servers.get(server)?.replicas.get(idx);
    if (!rep) return undefined;
    const { config } = rep.actor.context;
    return {
      memoryBytes: config.memoryBytes,
      overCommitPercentage: config.overCommitPercentage,
      // A walk of what the replica hosts: only for the suggestions that need it.
      get models() {
        return rep.hosted.holdings();
      },
    };
  };

/** Server replicas in order: by server name, then index. */
const byReplica = (a: { server: string; idx: number }, b: { server: string; idx: number }) =>
  a.server < b.server ? -1 : a.server > b.server ? 1 : a.idx - b.idx;

/** The replicas of `v` on its server that serve, load or are asked to. */
function placedReplicas(v: VersionEntry): number[] {
  return [...v.replicas]
    .filter(([, r]) => r.hasTag('onReplica'))
    .map(([idx]) => idx)
    .sort((a, b) => a - b);
}

/** The model's latest version explained, or undefined for an unknown model. */
export function explainModel(s: Models, name: string): ModelExplanation | undefined {
  const m = s.models.get(name);
  const latest = m && latestOf(m);
  if (!m || !latest) return undefined;
  const base = {
    model: name,
    version: latest.version,
    state: modelStateOf(latest.actor),
    reason: latest.actor.context.reason,
    server: latest.server,
    replicas: placedReplicas(latest),
    wantedReplicas: latest.definition.deployment?.replicas ?? 0,
    awaitingAgents: [...s.servers]
      .flatMap(([server, e]) =>
        [...e.replicas].filter(([, rep]) => rep.awaitingAgent).map(([idx]) => `${server}/${idx}`),
      )
      .sort(),
    ...(m.retry.dueAt > 0 ? { retryDueAt: m.retry.dueAt } : {}),
  };
  if (m.deleted) return { ...base, note: 'it is being deleted: nothing is placed for it' };
  const waiting = [...latest.replicas.keys()].filter(
    (idx) => s.servers.get(latest.server)?.replicas.get(idx)?.awaitingAgent,
  );
  if (waiting.length > 0) {
    return {
      ...base,
      note:
        `it stays on ${waiting.map((idx) => `${latest.server}/${idx}`).join(', ')} until ` +
        'their agents reconnect after the restart, or the reconnect grace ends',
    };
  }
  const stays = staysBecause(s, latest, base.replicas);
  return {
    ...base,
    ...(stays === undefined ? {} : { stays }),
    placement: explainPlacement(placementRequest(latest), placementView(s), detailsOf(s)),
  };
}

function staysBecause(s: Models, v: VersionEntry, replicas: readonly number[]): string | undefined {
  const server = s.servers.get(v.server);
  if (!server || replicas.length === 0) return undefined;
  if (server.actor.context.expectedReplicas === 0) {
    return (
      `server \`${v.server}\` is declared with 0 replicas: the model stays on its replicas ` +
      'until they go'
    );
  }
  const draining = replicas.filter((idx) => server.replicas.get(idx)?.draining);
  if (draining.length === 0) return undefined;
  return (
    `${draining.map((idx) => `replica ${v.server}/${idx}`).join(', ')} ` +
    `${draining.length === 1 ? 'is' : 'are'} draining: the model stays there until it is ` +
    'Available elsewhere'
  );
}

/** One model of a plan: what LoadModel would do with it, in order. */
export interface PlannedModel {
  readonly model: string;
  /** Placed fully, partly (min replicas), not at all, or refused (the LoadModel error). */
  readonly outcome: 'placed' | 'partial' | 'failed' | 'refused';
  /** The error LoadModel would answer, when refused. */
  readonly error?: string;
  readonly explanation?: ModelExplanation;
}

/** What a server replica would have left once the plan's models are loaded. */
export interface ReplicaCapacity {
  readonly server: string;
  readonly idx: number;
  readonly memoryBytes: number;
  readonly overCommitPercentage: number;
  readonly availableBytes: number;
  readonly reservedBytes: number;
  readonly freeBytes: number;
  /** A replica the plan assumed from a Server declaration (not connected yet). */
  readonly assumed: boolean;
}

export interface Plan {
  readonly models: readonly PlannedModel[];
  readonly capacity: readonly ReplicaCapacity[];
  /** What the plan assumed beyond the scheduler's state (replicas of declared servers). */
  readonly assumptions: readonly string[];
  /**
   * Models not in the plan that it would move too (a model waiting for capacity placed on an
   * assumed replica, say), as they would be afterwards; `before` says where they are now.
   */
  readonly alsoChanged: readonly { readonly now: ModelExplanation; readonly before: string }[];
}

/**
 * Where `definitions` would go, loaded in order after `declarations` (ServerNotify), without
 * changing anything: the scheduler's own commands run on a copy of its state whose agent ops go
 * nowhere. A declared server with more replicas than are connected is assumed to get the missing
 * ones as its agents would announce them: like its replica with the lowest index, empty. A server
 * with no replica connected gets none: its capabilities and memory are unknown until one connects.
 */
export function planModels(
  s: Models,
  declarations: readonly ServerDeclaration[],
  definitions: readonly ModelDefinition[],
): Plan {
  const assumed = new Set<string>();
  const copy = new Models({
    ...s.opts,
    agents: {
      isConnected: (server, idx) =>
        assumed.has(`${server}/${idx}`) || s.opts.agents.isConnected(server, idx),
      send: () => undefined,
    },
  });
  // Built as a restore builds the state, from records holding the actors, which it copies.
  restoreModels(
    copy,
    [...s.servers.keys()].flatMap((name) => exportServer(s, name, copyOf) ?? []),
    [...s.models.keys()].flatMap((name) => exportModel(s, name, copyOf) ?? []),
    (server, idx) => s.servers.get(server)?.replicas.get(idx)?.awaitingAgent ?? true,
    copyOf,
  );
  // Models waiting for capacity are retried in the order they started waiting: the copy keeps the
  // scheduler's order (a restore indexes them in the order of the records).
  const waiting = [...s.waiting].filter((name) => copy.waiting.has(name));
  const rest = [...copy.waiting].filter((name) => !s.waiting.has(name));
  copy.waiting.clear();
  for (const name of [...waiting, ...rest]) copy.waiting.add(name);
  const assumptions: string[] = [];
  if (declarations.length > 0) serverNotify(copy, declarations);
  // The replicas the declarations add join in order of server and index, as a test or an
  // operator applying the same can repeat.
  const joins = declarations.flatMap((d) => assumedJoins(copy, d)).sort(byReplica);
  for (const { join, like } of joins.map((j) => ({
    join: j,
    like: joinTemplateIdx(copy, j.server),
  }))) {
    assumed.add(`${join.server}/${join.idx}`);
    replicaJoined(copy, join);
    assumptions.push(
      `replica ${join.server}/${join.idx} joins like ${join.server}/${like}, ` +
        `${join.shared ? 'shared' : 'not shared'} as declared`,
    );
  }
  for (const d of declarations) {
    if ((copy.servers.get(d.name)?.replicas.size ?? 0) === 0 && d.expectedReplicas > 0) {
      assumptions.push(
        `server ${d.name} has no replica connected: its capabilities and memory are unknown, so ` +
          'nothing is placed on it until one connects',
      );
    }
  }
  // Each model's decision as placement made it when the model was loaded (not as it would be
  // made again once placed, which prefers where the model now is).
  const decisions = new Map<string, PlacementExplanation>();
  copy.place = (model, req, servers) => {
    const decision = explainPlacement(req, servers, detailsOf(copy));
    decisions.set(model, decision);
    return decision.result;
  };
  const models = definitions.map((def): PlannedModel => {
    const name = def.meta.name;
    decisions.delete(name);
    try {
      loadModel(copy, def);
    } catch (e) {
      return { model: name, outcome: 'refused', error: e instanceof Error ? e.message : String(e) };
    }
    const now = explainModel(copy, name);
    const decision = decisions.get(name);
    const explanation = now && decision ? { ...now, placement: decision } : now;
    const result = explanation?.placement?.result;
    return {
      model: name,
      outcome: !result?.ok ? 'failed' : result.partial ? 'partial' : 'placed',
      ...(explanation ? { explanation } : {}),
    };
  });
  const capacity = [...copy.servers.values()]
    .flatMap((server) => [...server.replicas.values()])
    .map((rep): ReplicaCapacity => {
      const { server, idx, config } = rep.actor.context;
      return {
        server,
        idx,
        memoryBytes: config.memoryBytes,
        overCommitPercentage: config.overCommitPercentage,
        availableBytes: rep.availableMemory,
        reservedBytes: rep.reservedMemory,
        freeBytes: freeMemory(rep),
        assumed: assumed.has(`${server}/${idx}`),
      };
    })
    .sort(byReplica);
  return { models, capacity, assumptions, alsoChanged: alsoChanged(s, copy, definitions) };
}

/** Where a model's latest version is: `server/idx,idx` of the replicas placed, or `nowhere`. */
function whereIs(s: Models, name: string): string {
  const latest = s.models.get(name);
  const v = latest && latestOf(latest);
  const replicas = v ? placedReplicas(v) : [];
  return v && replicas.length > 0 ? `${v.server}/${replicas.join(',')}` : 'nowhere';
}

/** The models outside the plan whose placement the plan changes, as they would be after it. */
function alsoChanged(
  s: Models,
  copy: Models,
  definitions: readonly ModelDefinition[],
): Plan['alsoChanged'] {
  const planned = new Set(definitions.map((d) => d.meta.name));
  const out: { now: ModelExplanation; before: string }[] = [];
  for (const name of copy.models.keys()) {
    if (planned.has(name)) continue;
    const before = whereIs(s, name);
    if (whereIs(copy, name) === before) continue;
    const now = explainModel(copy, name);
    if (now) out.push({ now, before });
  }
  return out.sort((a, b) => (a.now.model < b.now.model ? -1 : 1));
}

/** The connected replica a declared server's assumed replicas copy: its lowest index. */
function joinTemplateIdx(s: Models, server: string): number | undefined {
  const idxs = [...(s.servers.get(server)?.replicas.keys() ?? [])];
  return idxs.length === 0 ? undefined : Math.min(...idxs);
}

/** The replicas a declaration adds beyond those connected, as their agents would announce them. */
function assumedJoins(s: Models, d: ServerDeclaration) {
  const server = s.servers.get(d.name);
  const idx = joinTemplateIdx(s, d.name);
  const template = idx === undefined ? undefined : server?.replicas.get(idx);
  if (!server || !template) return [];
  const { config } = template.actor.context;
  const joins = [];
  for (let k = server.replicas.size, next = 0; k < d.expectedReplicas; k++) {
    while (server.replicas.has(next)) next++;
    joins.push({
      server: d.name,
      idx: next++,
      shared: d.shared,
      config,
      // What an empty agent announces: its memory and the over-commit on top.
      availableMemoryBytes: replicaCapacity(config),
      loaded: [],
    });
  }
  return joins;
}

/** What one server replica can still take: what a new model's replica may use, and what it holds. */
export interface ReplicaHeadroom {
  readonly idx: number;
  /** Memory plus over-commit: the most it can hold. */
  readonly capacityBytes: number;
  readonly memoryBytes: number;
  readonly overCommitPercentage: number;
  readonly availableBytes: number;
  readonly reservedBytes: number;
  /** What placement sees as free for a new model's replica. */
  readonly freeBytes: number;
  readonly draining: boolean;
  /** Its agent is not back since a restart: placement does not use it yet. */
  readonly awaitingAgent: boolean;
  /** The models it holds, largest first, with the memory unloading each would free. */
  readonly models: readonly { readonly model: string; readonly bytes: number }[];
}

/** The headroom of each replica of the server, or undefined for an unknown server. */
export function headroom(s: Models, name: string): ReplicaHeadroom[] | undefined {
  const server = s.servers.get(name);
  if (!server) return undefined;
  return [...server.replicas.values()]
    .map((rep): ReplicaHeadroom => {
      const { idx, config } = rep.actor.context;
      return {
        idx,
        capacityBytes: replicaCapacity(config),
        memoryBytes: config.memoryBytes,
        overCommitPercentage: config.overCommitPercentage,
        availableBytes: rep.availableMemory,
        reservedBytes: rep.reservedMemory,
        freeBytes: freeMemory(rep),
        draining: rep.draining,
        awaitingAgent: rep.awaitingAgent,
        models: rep.hosted
          .holdings()
          .sort((a, b) => b.bytes - a.bytes || (a.model < b.model ? -1 : 1)),
      };
    })
    .sort((a, b) => a.idx - b.idx);
}
