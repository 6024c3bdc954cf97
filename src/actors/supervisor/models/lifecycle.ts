// What the API and the operator ask of models and servers, and time passing.
import { failedPrecondition, internal } from '../../../domain/errors.js';
import {
  DEFAULT_DEPLOYMENT,
  diffDefinitions,
  MAX_VERSION,
  type ModelDefinition,
} from '../../../domain/model.js';
import type { ServerDeclaration } from '../../../domain/server.js';
import type { Changes } from '../../gateways.js';
import { dropServerReplica } from './agents.js';
import { schedule } from './scheduling.js';
import { finish } from './settling.js';
import { latestOf, type ModelEntry, type Models } from './state.js';
import { addVersion, forget, isActive, latestState, recompute, serverEntry } from './steps.js';

/** LoadModel: creates the model, a new version (changed spec) or updates the latest in place. */
export function loadModel(s: Models, def: ModelDefinition): Changes {
  const name = def.meta.name;
  const existing = s.models.get(name);
  if (!existing || (existing.deleted && !isActive(existing))) {
    if (existing) forget(s, existing);
    const entry: ModelEntry = {
      name,
      deleted: false,
      deletedAt: 0,
      versions: [],
      retry: { attempts: 0, dueAt: 0 },
    };
    s.models.set(name, entry);
    addVersion(s, entry, Math.max(1, def.meta.kubernetesMeta?.generation ?? 0), def);
  } else if (existing.deleted) {
    throw failedPrecondition(
      `Model ${name} is in process of deletion - new model can not be created`,
      { model: name },
    );
  } else {
    const latest = latestOf(existing);
    if (!latest) throw internal(`model ${name} has no versions`);
    const diff = diffDefinitions(latest.definition, def);
    if (diff.spec && latest.version >= MAX_VERSION) {
      throw failedPrecondition(
        `Model ${name} is at version ${latest.version}, the highest a version can be: unload it ` +
          'and load it again to start from its generation',
        { model: name },
      );
    }
    if (diff.spec) {
      addVersion(s, existing, latest.version + 1, def);
    } else {
      const updated = { ...latest.definition };
      if (diff.deployment) updated.deployment = def.deployment ?? { ...DEFAULT_DEPLOYMENT };
      if (diff.meta) {
        const { kubernetesMeta } = def.meta;
        updated.meta = { ...updated.meta };
        if (kubernetesMeta) updated.meta.kubernetesMeta = kubernetesMeta;
        else delete updated.meta.kubernetesMeta;
      }
      latest.definition = updated;
      if (diff.meta || diff.deployment) s.changes.models.add(name);
    }
    if (existing.retry.attempts > 0 || existing.retry.dueAt > 0) {
      existing.retry = { attempts: 0, dueAt: 0 };
      s.changes.models.add(name);
    }
  }
  schedule(s, name);
  return finish(s);
}

/** UnloadModel: marks the model deleted and unloads every version. */
export function unloadModel(
  s: Models,
  name: string,
  kubernetesMeta?: { namespace: string; generation: number },
): Changes {
  const m = s.models.get(name);
  if (!m) throw failedPrecondition(`Model ${name} not found`, { model: name });
  const latest = latestOf(m);
  if (kubernetesMeta && latest) {
    latest.definition = {
      ...latest.definition,
      meta: { ...latest.definition.meta, kubernetesMeta },
    };
  }
  if (!m.deleted) {
    m.deleted = true;
    m.deletedAt = s.opts.now();
  }
  s.changes.models.add(name);
  schedule(s, name);
  for (const v of m.versions) recompute(s, m, v);
  return finish(s);
}

/** ServerNotify: declares servers; a server scaled to 0 has its models moved elsewhere. */
export function serverNotify(s: Models, declarations: readonly ServerDeclaration[]): Changes {
  const at = s.opts.now();
  for (const d of declarations) {
    const server = serverEntry(s, d.name, d.shared);
    server.actor.send({ type: 'operator.declared', at, declaration: d });
    s.changes.servers.add(d.name);
    if (d.expectedReplicas === 0) {
      for (const name of modelsOnServer(s, d.name)) schedule(s, name);
    }
  }
  s.capacityChanged = true;
  return finish(s);
}

function modelsOnServer(s: Models, server: string): string[] {
  const names = new Set<string>();
  for (const rep of s.servers.get(server)?.replicas.values() ?? []) {
    for (const r of rep.hosted) names.add(r.context.model);
  }
  return [...names];
}

/**
 * Time passed: retries models whose load-failure back-off is due and purges deleted models whose
 * TTL expired.
 */
export function tick(s: Models): Changes {
  const now = s.opts.now();
  if (s.grace.expired(now)) {
    // Agents that did not come back within the grace: their models are placed elsewhere.
    for (const [name, server] of [...s.servers]) {
      for (const [idx, rep] of [...server.replicas]) {
        if (!rep.awaitingAgent) continue;
        for (const model of dropServerReplica(s, name, idx)) schedule(s, model);
        s.capacityChanged = true;
      }
    }
  }
  for (const m of [...s.models.values()]) {
    if (m.deleted && !isActive(m) && now - m.deletedAt >= s.opts.deletedTtlMs) {
      forget(s, m);
      s.models.delete(m.name);
      s.changes.models.add(m.name);
      continue;
    }
    if (m.retry.dueAt > 0 && m.retry.dueAt <= now) {
      m.retry.dueAt = 0;
      s.changes.models.add(m.name);
      if (!m.deleted && latestState(m) === 'failed') schedule(s, m.name);
    }
  }
  return finish(s);
}
