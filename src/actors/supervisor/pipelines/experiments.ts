// Experiments, and the end of every pipelines command (experiments follow what changed).
import { Cell } from '../../cell.js';
import { failedPrecondition } from '../../../domain/errors.js';
import { checkExperiment, type ExperimentDefinition } from '../../../domain/experiment.js';
import { experimentMachine } from '../../experiment/experiment.machine.js';
import type { Changes } from '../../gateways.js';
import { index, latestOf, refKey, stateOf, type Pipelines } from './state.js';
import { viewExperiment } from './views.js';

/** StartExperiment: (re)starts the experiment, replacing one of the same name. */
export function startExperiment(s: Pipelines, def: ExperimentDefinition): Changes {
  if (def.default !== undefined) {
    for (const other of s.experiments.values()) {
      const o = other.definition;
      if (
        !other.deleted &&
        o.name !== def.name &&
        o.resourceType === def.resourceType &&
        o.default === def.default
      ) {
        throw failedPrecondition(
          `Resource ${def.default} already in experiment ${def.name} as a baseline. A model or pipeline can only appear in one experiment as a baseline`,
          { experiment: def.name },
        );
      }
    }
  }
  checkExperiment(def);
  s.experiments.get(def.name)?.actor.stop();
  const actor = Cell.of(experimentMachine, { input: { name: def.name } });
  s.experiments.set(def.name, { definition: def, actor, deleted: false, deletedAt: 0 });
  for (const ref of referencesOf(def)) {
    index(s.experimentsByRef, refKey(def.resourceType, ref), def.name);
  }
  s.staleExperiments.add(def.name);
  s.changes.experiments.add(def.name);
  return finish(s);
}

/** StopExperiment: stops it (again, if already stopped); it stays listed until its TTL. */
export function stopExperiment(s: Pipelines, name: string): Changes {
  const e = s.experiments.get(name);
  if (!e) throw failedPrecondition(`Experiment not found ${name}`, { experiment: name });
  e.deleted = true;
  e.deletedAt = s.opts.now();
  e.actor.send({ type: 'experiment.stop' });
  s.changes.experiments.add(name);
  return finish(s);
}

/**
 * Re-evaluates stale experiments and returns what changed during the command. Every command ends
 * here; so does a refused one, to report the facts it recorded first.
 */
export function finish(s: Pipelines): Changes {
  for (const name of s.staleExperiments) {
    const e = s.experiments.get(name);
    if (!e || e.deleted) continue;
    const before = viewExperiment(e);
    e.actor.send({ type: 'resources.evaluated', ...evaluate(s, e.definition) });
    const after = viewExperiment(e);
    if (
      before.active !== after.active ||
      before.candidatesReady !== after.candidatesReady ||
      before.mirrorReady !== after.mirrorReady ||
      before.statusDescription !== after.statusDescription
    ) {
      s.changes.experiments.add(name);
    }
  }
  s.staleExperiments.clear();
  return s.changes.take();
}

/** Readiness of an experiment's resources and whether traffic can be split (Seldon's rules). */
function evaluate(
  s: Pipelines,
  def: ExperimentDefinition,
): { candidatesReady: boolean; mirrorReady: boolean; routeError: string | undefined } {
  const ready = (name: string) => {
    if (def.resourceType === 'model') return s.opts.models.latestAvailable(name);
    const p = s.pipelines.get(name);
    const latest = p && latestOf(p);
    return latest !== undefined && stateOf(latest) === 'ready';
  };
  let routeError: string | undefined;
  if (def.resourceType === 'model') {
    const unroutable = [...def.candidates.map((c) => c.name), def.mirror?.name].find(
      (m) => m !== undefined && !s.opts.models.routable(m),
    );
    if (unroutable !== undefined) {
      routeError = `no live replica for model ${unroutable} for model route ${def.name}.experiment`;
    }
  } else if (def.default !== undefined && !s.pipelines.has(def.default)) {
    routeError = `pipeline ${def.default} not found`;
  }
  return {
    candidatesReady: def.candidates.every((c) => ready(c.name)),
    mirrorReady: def.mirror === undefined || ready(def.mirror.name),
    routeError,
  };
}

export function referencesOf(def: ExperimentDefinition): string[] {
  return [
    ...def.candidates.map((c) => c.name),
    ...(def.mirror ? [def.mirror.name] : []),
    ...(def.default !== undefined ? [def.default] : []),
  ];
}
