// Pipelines: loading, unloading, following their step models, and time passing.
import { Cell } from '../../cell.js';
import { failedPrecondition } from '../../../domain/errors.js';
import {
  preparePipeline,
  samePipelineSpec,
  stepModels,
  type PipelineDefinition,
} from '../../../domain/pipeline.js';
import type { Changes } from '../../gateways.js';
import { pipelineVersionMachine } from '../../pipeline/pipeline.machine.js';
import { earlier } from '../due-times.js';
import { rebalance, sendCreate, sendDelete } from './dataflow.js';
import { finish } from './experiments.js';
import {
  index,
  isRetiring,
  latestOf,
  REBALANCE,
  refKey,
  stateOf,
  touch,
  type PipelineEntry,
  type Pipelines,
  type VersionEntry,
} from './state.js';

/** LoadPipeline: a new pipeline, a new version of a changed one, or nothing for the same spec. */
export function loadPipeline(s: Pipelines, raw: PipelineDefinition): Changes {
  const def = preparePipeline(raw);
  const existing = s.pipelines.get(def.name);
  const latest = existing && latestOf(existing);
  if (existing && latest && !isRetiring(stateOf(latest))) {
    const gen = def.kubernetesMeta?.generation ?? 0;
    const sameGeneration = gen > 0 && gen === latest.definition.kubernetesMeta?.generation;
    if (sameGeneration || samePipelineSpec(latest.definition, def)) {
      if (!sameGeneration && !sameMeta(latest.definition, def)) {
        latest.definition = def;
        touch(s, existing.name, latest);
      }
      return finish(s);
    }
    addVersion(s, existing, latest.version + 1, def);
  } else {
    // Unknown, or unloaded: a fresh pipeline from version 1 (Seldon replaces the old object).
    const entry: PipelineEntry = { name: def.name, deleted: false, deletedAt: 0, versions: [] };
    if (existing) dropPipeline(s, existing);
    s.pipelines.set(def.name, entry);
    addVersion(s, entry, 1, def);
  }
  return finish(s);
}

/** UnloadPipeline: every running version is told to terminate. */
export function unloadPipeline(s: Pipelines, name: string): Changes {
  const p = s.pipelines.get(name);
  const latest = p && latestOf(p);
  if (!p || !latest || stateOf(latest) === 'terminated') {
    throw failedPrecondition(`pipeline ${name} not found`, { pipeline: name });
  }
  if (stateOf(latest) === 'terminating') {
    throw failedPrecondition(`pipeline ${name} still terminating`, { pipeline: name });
  }
  p.deleted = true;
  p.deletedAt = s.opts.now();
  // Seldon terminates only the latest version; an older one still serving would be left running.
  for (const v of p.versions) {
    const st = stateOf(v);
    if (st === 'terminating' || st === 'terminated') continue;
    v.actor.send({ type: 'pipeline.unload', at: s.opts.now(), reason: 'pipeline removed' });
    sendDelete(s, v, false);
    touch(s, name, v);
  }
  return finish(s);
}

/** Models changed state: pipelines' modelsReady and experiments' readiness follow. */
export function modelsChanged(s: Pipelines, models: readonly string[]): Changes {
  for (const model of models) {
    for (const name of s.pipelinesByModel.get(model) ?? []) {
      const p = s.pipelines.get(name);
      if (!p) continue;
      for (const v of p.versions) {
        if (!stepModels(v.definition).includes(model) || stateOf(v) === 'terminated') continue;
        const ready = modelsReady(s, v.definition);
        if (ready === v.actor.context.modelsReady) continue;
        v.actor.send({ type: 'models.changed', ready });
        touch(s, name, v);
      }
    }
    for (const e of s.experimentsByRef.get(refKey('model', model)) ?? []) {
      s.staleExperiments.add(e);
    }
  }
  return finish(s);
}

/** Retries failed versions whose delay passed and purges deleted resources past their TTL. */
export function tick(s: Pipelines): Changes {
  const now = s.opts.now();
  if (s.grace.expired(now)) {
    // No engine came back after the restart: what waited on one is treated as after engines left.
    rebalance(s);
  }
  for (const p of [...s.pipelines.values()]) {
    const latest = latestOf(p);
    if (p.deleted && latest && stateOf(latest) === 'terminated') {
      if (now - p.deletedAt >= s.opts.deletedTtlMs) {
        dropPipeline(s, p);
        s.changes.pipeline(p.name, 0);
      }
      continue;
    }
    if (latest && latest.retry.dueAt > 0 && latest.retry.dueAt <= now) {
      latest.retry.dueAt = 0;
      if (!p.deleted && stateOf(latest) === 'failed') {
        latest.retry.attempts++;
        sendCreate(s, latest, REBALANCE);
      }
      touch(s, p.name, latest);
    }
  }
  for (const e of [...s.experiments.values()]) {
    if (e.deleted && now - e.deletedAt >= s.opts.deletedTtlMs) {
      e.actor.stop();
      s.experiments.delete(e.definition.name);
      s.changes.experiments.add(e.definition.name);
    }
  }
  return finish(s);
}

/** When the next retry, purge or end of the reconnect grace is due (ms since epoch). */
export function nextDueAt(s: Pipelines): number | undefined {
  let due = s.grace.dueAt;
  for (const p of s.pipelines.values()) {
    const latest = latestOf(p);
    if (!latest) continue;
    if (p.deleted && stateOf(latest) === 'terminated') {
      due = earlier(due, p.deletedAt + s.opts.deletedTtlMs);
    } else if (latest.retry.dueAt > 0) due = earlier(due, latest.retry.dueAt);
  }
  for (const e of s.experiments.values()) {
    if (e.deleted) due = earlier(due, e.deletedAt + s.opts.deletedTtlMs);
  }
  return due;
}

function addVersion(
  s: Pipelines,
  p: PipelineEntry,
  version: number,
  def: PipelineDefinition,
): void {
  const uid = s.opts.newUid();
  const actor = Cell.of(pipelineVersionMachine, {
    input: {
      name: p.name,
      version,
      uid,
      at: s.opts.now(),
      modelsReady: modelsReady(s, def),
    },
  });
  const v: VersionEntry = {
    version,
    uid,
    definition: def,
    actor,
    iteration: undefined,
    lastTimestamp: 0,
    retry: { attempts: 0, dueAt: 0 },
  };
  p.versions.push(v);
  for (const m of stepModels(def)) index(s.pipelinesByModel, m, p.name);
  sendCreate(s, v, '');
  touch(s, p.name, v);
}

function modelsReady(s: Pipelines, def: PipelineDefinition): boolean {
  return stepModels(def).every((m) => s.opts.models.anyAvailable(m));
}

function dropPipeline(s: Pipelines, p: PipelineEntry): void {
  for (const v of p.versions) v.actor.stop();
  s.pipelines.delete(p.name);
  for (const e of s.experimentsByRef.get(refKey('pipeline', p.name)) ?? []) {
    s.staleExperiments.add(e);
  }
}

function sameMeta(a: PipelineDefinition, b: PipelineDefinition): boolean {
  const x = a.kubernetesMeta;
  const y = b.kubernetesMeta;
  return x?.namespace === y?.namespace && x?.generation === y?.generation;
}
