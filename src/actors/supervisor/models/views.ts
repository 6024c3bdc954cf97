// Read-only views of models and servers, for the API and for pipelines and experiments.
import type { ModelState } from '../../../domain/model.js';
import {
  modelStateOf,
  replicaStateOf,
  type ModelView,
  type ServerStatusView,
  type VersionView,
} from '../views.js';
import {
  latestOf,
  type ModelEntry,
  type Models,
  type ServerEntry,
  type VersionEntry,
} from './state.js';
import { latestState } from './steps.js';

/** The named model, or undefined. */
export function model(s: Models, name: string, allVersions: boolean): ModelView | undefined {
  const m = s.models.get(name);
  return m ? viewModel(m, allVersions) : undefined;
}

/** Every model (deleted ones included), by name. */
export function listModels(s: Models, allVersions: boolean): ModelView[] {
  return [...s.models.values()]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((m) => viewModel(m, allVersions));
}

/** Every model's name (deleted ones included), sorted, without building their views. */
export function modelNames(s: Models): string[] {
  return [...s.models.keys()].sort();
}

/** The named server, or undefined. */
export function server(s: Models, name: string): ServerStatusView | undefined {
  const entry = s.servers.get(name);
  return entry ? viewServer(entry) : undefined;
}

/** Every server, by name. */
export function listServers(s: Models): ServerStatusView[] {
  return [...s.servers.values()]
    .sort((a, b) => (a.actor.context.name < b.actor.context.name ? -1 : 1))
    .map(viewServer);
}

/** True when the model's latest version has a replica Available on another server replica. */
export function availableElsewhere(s: Models, name: string, server: string, idx: number): boolean {
  const m = s.models.get(name);
  const latest = m && latestOf(m);
  if (!latest) return false;
  for (const [i, r] of latest.replicas) {
    if (replicaStateOf(r) === 'available' && (latest.server !== server || i !== idx)) {
      return true;
    }
  }
  return false;
}

/** Some version of the model is ModelAvailable (a pipeline step can run). */
export function anyAvailable(s: Models, name: string): boolean {
  const m = s.models.get(name);
  return m?.versions.some((v) => modelStateOf(v.actor) === 'available') ?? false;
}

/** The model's latest version is ModelAvailable (an experiment candidate is ready). */
export function latestAvailable(s: Models, name: string): boolean {
  return latestStateOf(s, name) === 'available';
}

/** Traffic can reach the model: a version is Available or the latest has an Available replica. */
export function routable(s: Models, name: string): boolean {
  const m = s.models.get(name);
  const latest = m && latestOf(m);
  return (
    anyAvailable(s, name) || (latest !== undefined && latest.actor.context.availableReplicas > 0)
  );
}

/** The latest version's state, for waiters. */
export function latestStateOf(s: Models, name: string): ModelState | undefined {
  const m = s.models.get(name);
  return m ? latestState(m) : undefined;
}

function viewModel(m: ModelEntry, allVersions: boolean): ModelView {
  const versions = allVersions ? m.versions : m.versions.slice(-1);
  return { name: m.name, deleted: m.deleted, versions: versions.map(viewVersion) };
}

function viewVersion(v: VersionEntry): VersionView {
  return {
    version: v.version,
    server: v.server,
    definition: v.definition,
    state: modelStateOf(v.actor),
    reason: v.actor.context.reason,
    availableReplicas: v.actor.context.availableReplicas,
    unavailableReplicas: v.actor.context.unavailableReplicas,
    at: v.actor.context.at,
    replicas: [...v.replicas.entries()]
      .sort(([a], [b]) => a - b)
      .map(([idx, r]) => {
        return { idx, state: replicaStateOf(r), reason: r.context.reason, at: r.context.at };
      }),
  };
}

function viewServer(s: ServerEntry): ServerStatusView {
  const ctx = s.actor.context;
  const replicas = [...s.replicas.values()]
    .map((rep) => {
      return {
        idx: rep.actor.context.idx,
        totalMemoryBytes: rep.actor.context.config.memoryBytes,
        availableMemoryBytes: rep.actor.context.availableMemoryBytes,
        reservedMemoryBytes: rep.hosted.reservedBytes(),
        numLoadedModels: rep.hosted.heldModelCount(),
        overCommitPercentage: rep.actor.context.config.overCommitPercentage,
        draining: rep.actor.hasTag('draining'),
      };
    })
    .sort((a, b) => a.idx - b.idx);
  return {
    name: ctx.name,
    state: s.actor.value,
    expectedReplicas: ctx.expectedReplicas,
    minReplicas: ctx.minReplicas,
    maxReplicas: ctx.maxReplicas,
    shared: ctx.shared,
    ...(ctx.kubernetesMeta ? { kubernetesMeta: ctx.kubernetesMeta } : {}),
    replicas,
  };
}
