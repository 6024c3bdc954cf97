import type { Changes } from '../gateways.js';
import { mergeChanges } from './changes.js';
import { earlier } from './due-times.js';
import { nextDueAt as modelsDueAt } from './models/scheduling.js';
import { Models, type ModelsOptions } from './models/state.js';
import { anyAvailable, latestAvailable, routable } from './models/views.js';
import { modelsChanged, nextDueAt as pipelinesDueAt } from './pipelines/pipelines.js';
import { Pipelines, type PipelinesOptions } from './pipelines/state.js';

/** The supervisor's state: placement of models, and the pipelines and experiments built on them. */
export interface Core {
  readonly models: Models;
  readonly pipelines: Pipelines;
}

export type CoreOptions = ModelsOptions & Omit<PipelinesOptions, 'models'>;

/** A core with no resources; pipelines and experiments read the models' readiness. */
export function createCore(options: CoreOptions): Core {
  const models = new Models(options);
  const pipelines = new Pipelines({
    ...options,
    models: {
      anyAvailable: (name) => anyAvailable(models, name),
      latestAvailable: (name) => latestAvailable(models, name),
      routable: (name) => routable(models, name),
    },
  });
  return { models, pipelines };
}

/** When the next retry, purge or end of a reconnect grace is due (ms since epoch), or undefined. */
export const nextDueAt = (core: Core): number | undefined =>
  earlier(modelsDueAt(core.models), pipelinesDueAt(core.pipelines));

/** Lets pipelines and experiments follow the models a placement step changed. */
export const followModels = (core: Core, changes: Changes): Changes =>
  mergeChanges(changes, modelsChanged(core.pipelines, changes.models));
