// Read-only views of pipelines, experiments and engines.
import { pipelineStateOf } from '../../pipeline/pipeline.machine.js';
import type { ExperimentView, PipelineVersionView, PipelineView } from '../views.js';
import type { ExperimentEntry, PipelineEntry, Pipelines, VersionEntry } from './state.js';

export function pipeline(
  s: Pipelines,
  name: string,
  allVersions: boolean,
): PipelineView | undefined {
  const p = s.pipelines.get(name);
  return p && viewPipeline(p, allVersions);
}

/** Every pipeline (deleted ones included), by name. */
export function listPipelines(s: Pipelines, allVersions: boolean): PipelineView[] {
  return [...s.pipelines.values()]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((p) => viewPipeline(p, allVersions));
}

/** One version of a pipeline, for status pushes naming it. */
export function pipelineVersion(
  s: Pipelines,
  name: string,
  version: number,
): PipelineView | undefined {
  const p = s.pipelines.get(name);
  const v = p?.versions.find((x) => x.version === version);
  return p && v && { name, deleted: p.deleted, versions: [viewVersion(v)] };
}

export function listEngines(s: Pipelines): string[] {
  return [...s.engines];
}

export function experiment(s: Pipelines, name: string): ExperimentView | undefined {
  const e = s.experiments.get(name);
  return e && viewExperiment(e);
}

/** Every experiment (stopped ones included), by name. */
export function listExperiments(s: Pipelines): ExperimentView[] {
  return [...s.experiments.values()]
    .sort((a, b) => (a.definition.name < b.definition.name ? -1 : 1))
    .map(viewExperiment);
}

function viewVersion(v: VersionEntry): PipelineVersionView {
  return {
    version: v.version,
    uid: v.uid,
    definition: v.definition,
    state: pipelineStateOf(v.actor),
    reason: v.actor.context.reason,
    lastChangeAt: v.actor.context.at,
    modelsReady: v.actor.context.modelsReady,
  };
}

function viewPipeline(p: PipelineEntry, allVersions: boolean): PipelineView {
  const versions = allVersions ? p.versions : p.versions.slice(-1);
  return { name: p.name, deleted: p.deleted, versions: versions.map(viewVersion) };
}

export function viewExperiment(e: ExperimentEntry): ExperimentView {
  return {
    definition: e.definition,
    state: typeof e.actor.value === 'string' ? e.actor.value : e.actor.value.running,
    active: e.actor.hasTag('active'),
    candidatesReady: e.actor.context.candidatesReady,
    mirrorReady: e.actor.context.mirrorReady,
    statusDescription: e.actor.context.statusDescription,
    deleted: e.deleted,
  };
}
