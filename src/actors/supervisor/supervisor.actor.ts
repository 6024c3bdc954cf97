import { fromTransition } from 'xstate';
import type { Changes } from '../gateways.js';
import { mergeChanges, NO_CHANGES } from './changes.js';
import type { Command, CommandOf, CommandType, Done, Outcome, ResultOf } from './commands.js';
import { earlier } from './due-times.js';
import { agentEvent, drain, replicaJoined, replicaLeft } from './models/agents.js';
import { loadModel, serverNotify, tick as tickModels, unloadModel } from './models/lifecycle.js';
import { nextDueAt as modelsDueAt } from './models/scheduling.js';
import { finish as finishModels } from './models/settling.js';
import { Models, type ModelsOptions } from './models/state.js';
import { anyAvailable, latestAvailable, routable } from './models/views.js';
import { dataflowEvent, engineJoined, engineLeft } from './pipelines/dataflow.js';
import {
  finish as finishPipelines,
  startExperiment,
  stopExperiment,
} from './pipelines/experiments.js';
import {
  loadPipeline,
  modelsChanged,
  nextDueAt as pipelinesDueAt,
  tick as tickPipelines,
  unloadPipeline,
} from './pipelines/pipelines.js';
import { Pipelines, type ModelReadiness, type PipelinesOptions } from './pipelines/state.js';

/** The supervisor's state: placement of models, and the pipelines and experiments built on them. */
export interface Core {
  readonly models: Models;
  readonly pipelines: Pipelines;
}

export type CoreOptions = ModelsOptions & Omit<PipelinesOptions, 'models'>;

/** The actor's snapshot: the core, and the last command's outcome for the caller that sent it. */
export interface SupervisorState {
  readonly core: Core;
  readonly last: Outcome | undefined;
}

/** When the next retry, purge or end of a reconnect grace is due (ms since epoch), or undefined. */
export const nextDueAt = (core: Core): number | undefined =>
  earlier(modelsDueAt(core.models), pipelinesDueAt(core.pipelines));

/** Lets pipelines and experiments follow the models a placement step changed. */
const followModels = (core: Core, changes: Changes): Changes =>
  mergeChanges(changes, modelsChanged(core.pipelines, changes.models));

const done = <R>(changes: Changes, value: R): Done<R> => ({ ok: true, changes, value });
/** A command that answers what it changed. */
const changed = (changes: Changes): Done<Changes> => done(changes, changes);

type Handler<K extends CommandType> = (core: Core, command: CommandOf<K>) => Done<ResultOf<K>>;

/** One handler per command. */
const handlers: { [K in CommandType]: Handler<K> } = {
  'model.load': (core, c) => changed(followModels(core, loadModel(core.models, c.definition))),
  'model.unload': (core, c) =>
    changed(followModels(core, unloadModel(core.models, c.name, c.kubernetesMeta))),
  'server.notify': (core, c) =>
    changed(followModels(core, serverNotify(core.models, c.declarations))),
  'agent.replicaJoined': (core, c) =>
    changed(followModels(core, replicaJoined(core.models, c.join))),
  'agent.replicaLeft': (core, c) =>
    changed(followModels(core, replicaLeft(core.models, c.server, c.idx))),
  'agent.event': (core, c) => changed(followModels(core, agentEvent(core.models, c.report))),
  'agent.drain': (core, c) => {
    const { changes, models } = drain(core.models, c.server, c.idx);
    return done(followModels(core, changes), models);
  },
  'pipeline.load': (core, c) => changed(loadPipeline(core.pipelines, c.definition)),
  'pipeline.unload': (core, c) => changed(unloadPipeline(core.pipelines, c.name)),
  'experiment.start': (core, c) => changed(startExperiment(core.pipelines, c.definition)),
  'experiment.stop': (core, c) => changed(stopExperiment(core.pipelines, c.name)),
  'dataflow.engineJoined': (core, c) => changed(engineJoined(core.pipelines, c.engine)),
  'dataflow.engineLeft': (core, c) => changed(engineLeft(core.pipelines, c.engine)),
  'dataflow.event': (core, c) => changed(dataflowEvent(core.pipelines, c.report)),
  'clock.tick': (core) =>
    changed(
      mergeChanges(followModels(core, tickModels(core.models)), tickPipelines(core.pipelines)),
    ),
};

function run<K extends CommandType>(core: Core, command: CommandOf<K>): Done<ResultOf<K>> {
  const handler: Handler<K> = handlers[command.type];
  return handler(core, command);
}

/** What a refused command changed before it was refused (an agent's free memory, say). */
function flush(core: Core): Changes {
  try {
    return mergeChanges(
      followModels(core, finishModels(core.models)),
      finishPipelines(core.pipelines),
    );
  } catch {
    return NO_CHANGES;
  }
}

/** What pipelines and experiments read of the models. */
function readiness(models: Models): ModelReadiness {
  return {
    anyAvailable: (name) => anyAvailable(models, name),
    latestAvailable: (name) => latestAvailable(models, name),
    routable: (name) => routable(models, name),
  };
}

/**
 * The supervisor actor: its mailbox takes one command at a time, so placement, pipelines and
 * experiments have a single writer. A failing command (bad input, a mismatched agent report) leaves
 * its error as the outcome and the actor running.
 */
export const supervisorLogic = fromTransition(
  (state: SupervisorState, command: Command): SupervisorState => {
    // XState's own events (such as the stop signal) are no commands and change nothing.
    if (!Object.hasOwn(handlers, command.type)) return state;
    const { core } = state;
    try {
      return { core, last: run(core, command) };
    } catch (error) {
      return { core, last: { ok: false, error, changes: flush(core) } };
    }
  },
  ({ input }: { input: CoreOptions }): SupervisorState => {
    const models = new Models(input);
    const pipelines = new Pipelines({ ...input, models: readiness(models) });
    return { core: { models, pipelines }, last: undefined };
  },
);
