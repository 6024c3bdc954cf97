/** Experiments in the scheduler's vocabulary: plain JSON, independent of the wire. */
import { failedPrecondition } from './errors.js';
import type { KubernetesMeta } from './model.js';

/** What an experiment's names refer to (Seldon's ResourceType; unknown wire values mean model). */
export type ResourceType = 'model' | 'pipeline';

export interface ExperimentCandidate {
  name: string;
  weight: number;
}

export interface ExperimentMirror {
  name: string;
  percent: number;
}

export interface ExperimentDefinition {
  name: string;
  /** The baseline: requests to this model or pipeline are split across the candidates. */
  default?: string;
  candidates: ExperimentCandidate[];
  mirror?: ExperimentMirror;
  config?: { stickySessions: boolean };
  kubernetesMeta?: KubernetesMeta;
  resourceType: ResourceType;
}

// Seldon parity: scheduler/pkg/store/experiment/validate.go and errors.go (texts verbatim).

/** Rule 2: the baseline is one of the candidates. */
function defaultNotCandidate(e: ExperimentDefinition): string | undefined {
  if (e.default === undefined || e.candidates.some((c) => c.name === e.default)) return undefined;
  return `default model/pipeline ${e.default} not found in experiment ${e.name} candidates`;
}

/** Rule 3: something receives traffic. */
function nothingToRoute(e: ExperimentDefinition): string | undefined {
  return e.candidates.length === 0 && e.mirror === undefined
    ? `experiment ${e.name} has no candidates or mirror`
    : undefined;
}

function firstRepeat(names: readonly string[]): string | undefined {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) return n;
    seen.add(n);
  }
  return undefined;
}

/** Rule 4: candidates, then the mirror, in request order; the first repeat is reported. */
function duplicateResource(e: ExperimentDefinition): string | undefined {
  const dup = firstRepeat([
    ...e.candidates.map((c) => c.name),
    ...(e.mirror ? [e.mirror.name] : []),
  ]);
  return dup === undefined
    ? undefined
    : `each candidate and mirror must be unique but found resource ${dup} duplicated in experiment ${e.name}`;
}

/**
 * Validates a StartExperiment request the way the reference does, after the caller's stateful
 * baseline check (rule 1): default among the candidates, at least one candidate or a mirror, no
 * resource listed twice. Names, weights and percentages are not checked here.
 * @throws SchedulerError FailedPrecondition with the reference's text for the first rule broken.
 */
export function checkExperiment(def: ExperimentDefinition): void {
  for (const check of [defaultNotCandidate, nothingToRoute, duplicateResource]) {
    const problem = check(def);
    if (problem !== undefined) throw failedPrecondition(problem, { experiment: def.name });
  }
}
