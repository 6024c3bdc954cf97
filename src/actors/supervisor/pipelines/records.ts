// Persistence of pipelines and experiments: their records, and the state rebuilt from them.
import type { Snapshot } from 'xstate';
import { Cell } from '../../cell.js';
import type { ExperimentDefinition } from '../../../domain/experiment.js';
import { stepModels, type PipelineDefinition } from '../../../domain/pipeline.js';
import { experimentMachine } from '../../experiment/experiment.machine.js';
import { pipelineVersionMachine } from '../../pipeline/pipeline.machine.js';
import { referencesOf } from './experiments.js';
import { modelsChanged } from './pipelines.js';
import { index, refKey, type PipelineEntry, type Pipelines } from './state.js';

/** The persisted form of a pipeline (record `pipeline:<name>`). */
export interface PipelineRecord {
  name: string;
  deleted: boolean;
  deletedAt: number;
  versions: {
    version: number;
    uid: string;
    definition: PipelineDefinition;
    actor: unknown;
    retry: { attempts: number; dueAt: number };
    /** The timestamp of the last send, so new sends after a restart never reuse one. */
    lastTimestamp: number;
  }[];
}

/** The persisted form of an experiment (record `experiment:<name>`). */
export interface ExperimentRecord {
  definition: ExperimentDefinition;
  deleted: boolean;
  deletedAt: number;
  actor: unknown;
}

export function exportPipeline(s: Pipelines, name: string): PipelineRecord | undefined {
  const p = s.pipelines.get(name);
  if (!p) return undefined;
  return {
    name,
    deleted: p.deleted,
    deletedAt: p.deletedAt,
    versions: p.versions.map((v) => ({
      version: v.version,
      uid: v.uid,
      definition: v.definition,
      actor: v.actor.getPersistedSnapshot(),
      retry: { ...v.retry },
      lastTimestamp: v.lastTimestamp,
    })),
  };
}

export function exportExperiment(s: Pipelines, name: string): ExperimentRecord | undefined {
  const e = s.experiments.get(name);
  if (!e) return undefined;
  return {
    definition: e.definition,
    deleted: e.deleted,
    deletedAt: e.deletedAt,
    actor: e.actor.getPersistedSnapshot(),
  };
}

/**
 * Rebuilds pipelines and experiments from their records (before any command, after the models).
 * No engine is connected yet: each version keeps its state until the first engine joins and is
 * sent its create (or delete) again; experiments are re-evaluated against the restored models.
 */
export function restorePipelines(
  s: Pipelines,
  pipelines: readonly PipelineRecord[],
  experiments: readonly ExperimentRecord[],
): void {
  for (const rec of pipelines) {
    const p: PipelineEntry = {
      name: rec.name,
      deleted: rec.deleted,
      deletedAt: rec.deletedAt,
      versions: [],
    };
    for (const rv of rec.versions) {
      const actor = Cell.of(pipelineVersionMachine, {
        snapshot: rv.actor as Snapshot<unknown>,
      });
      p.versions.push({
        version: rv.version,
        uid: rv.uid,
        definition: rv.definition,
        actor,
        iteration: undefined,
        lastTimestamp: rv.lastTimestamp,
        retry: { ...rv.retry },
      });
      s.sendSeq = Math.max(s.sendSeq, rv.lastTimestamp);
      for (const m of stepModels(rv.definition)) index(s.pipelinesByModel, m, rec.name);
    }
    s.pipelines.set(rec.name, p);
    s.grace.start(s.opts.now(), s.opts.reconnectGraceMs);
  }
  for (const rec of experiments) {
    const actor = Cell.of(experimentMachine, {
      snapshot: rec.actor as Snapshot<unknown>,
    });
    s.experiments.set(rec.definition.name, {
      definition: rec.definition,
      actor,
      deleted: rec.deleted,
      deletedAt: rec.deletedAt,
    });
    for (const ref of referencesOf(rec.definition)) {
      index(s.experimentsByRef, refKey(rec.definition.resourceType, ref), rec.definition.name);
    }
    s.staleExperiments.add(rec.definition.name);
  }
  // The models were restored too: modelsReady follows them.
  modelsChanged(s, [...s.pipelinesByModel.keys()]);
}
