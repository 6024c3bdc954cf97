import type { ExperimentDefinition } from '../../domain/experiment.js';
import type { KubernetesMeta, ModelDefinition } from '../../domain/model.js';
import type { PipelineDefinition } from '../../domain/pipeline.js';
import type { ServerDeclaration } from '../../domain/server.js';
import type { Changes, DataflowReport } from '../gateways.js';
import { mergeChanges } from './changes.js';
import { followModels, type Core } from './core.js';
import { agentEvent, drain, replicaJoined, replicaLeft } from './models/agents.js';
import { loadModel, serverNotify, tick as tickModels, unloadModel } from './models/lifecycle.js';
import { dataflowEvent, engineJoined, engineLeft } from './pipelines/dataflow.js';
import { startExperiment, stopExperiment } from './pipelines/experiments.js';
import { loadPipeline, tick as tickPipelines, unloadPipeline } from './pipelines/pipelines.js';
import type { AgentReport, ReplicaJoin } from './views.js';

/** A command that ran to completion: what it changed and what it answers. */
export interface Done<R> {
  readonly ok: true;
  readonly changes: Changes;
  readonly value: R;
}

/** A refused command: its error, and what it changed before it was refused (an agent's memory). */
export interface Refused {
  readonly ok: false;
  readonly changes: Changes;
  readonly error: unknown;
}

export type Outcome = Done<unknown> | Refused;

const done = <R>(changes: Changes, value: R): Done<R> => ({ ok: true, changes, value });
/** A command that answers what it changed. */
const changed = (changes: Changes): Done<Changes> => done(changes, changes);

/**
 * Everything the supervisor is asked to do, each declared once, here: its name, its arguments and
 * what it answers. The facade (`system.ts`) has a method of the same name that sends it; the
 * supervisor actor runs one at a time. Most answer what they changed; every command's changes are
 * also reported to listeners.
 */
export const commands = {
  /** @throws SchedulerError FailedPrecondition while the model is still being deleted. */
  loadModel: (core: Core, definition: ModelDefinition) =>
    changed(followModels(core, loadModel(core.models, definition))),
  /** @throws SchedulerError FailedPrecondition when the model is unknown. */
  unloadModel: (core: Core, name: string, kubernetesMeta?: KubernetesMeta) =>
    changed(followModels(core, unloadModel(core.models, name, kubernetesMeta))),
  serverNotify: (core: Core, declarations: readonly ServerDeclaration[]) =>
    changed(followModels(core, serverNotify(core.models, declarations))),
  replicaJoined: (core: Core, join: ReplicaJoin) =>
    changed(followModels(core, replicaJoined(core.models, join))),
  replicaLeft: (core: Core, server: string, idx: number) =>
    changed(followModels(core, replicaLeft(core.models, server, idx))),
  /** @throws SchedulerError Internal when the report does not match the scheduler's state. */
  agentEvent: (core: Core, report: AgentReport) =>
    changed(followModels(core, agentEvent(core.models, report))),
  /**
   * Starts draining a replica; answers the models that must become Available elsewhere before the
   * drain is complete (the facade's `drain` waits for them).
   */
  startDrain: (core: Core, server: string, idx: number): Done<string[]> => {
    const { changes, models } = drain(core.models, server, idx);
    return done(followModels(core, changes), models);
  },
  /**
   * LoadPipeline: validates (Seldon's rules and messages), then creates the pipeline or a new
   * version; an identical spec is a no-op.
   * @throws SchedulerError FailedPrecondition with Seldon's text when the pipeline is invalid.
   */
  loadPipeline: (core: Core, definition: PipelineDefinition) =>
    changed(loadPipeline(core.pipelines, definition)),
  /** @throws SchedulerError FailedPrecondition when unknown, terminated or still terminating. */
  unloadPipeline: (core: Core, name: string) => changed(unloadPipeline(core.pipelines, name)),
  /** @throws SchedulerError FailedPrecondition with Seldon's text when the experiment is invalid. */
  startExperiment: (core: Core, definition: ExperimentDefinition) =>
    changed(startExperiment(core.pipelines, definition)),
  /** @throws SchedulerError FailedPrecondition `Experiment not found <name>`. */
  stopExperiment: (core: Core, name: string) => changed(stopExperiment(core.pipelines, name)),
  /** A dataflow engine subscribed (its stream is registered with the dataflow gateway). */
  engineJoined: (core: Core, engine: string) => changed(engineJoined(core.pipelines, engine)),
  engineLeft: (core: Core, engine: string) => changed(engineLeft(core.pipelines, engine)),
  /**
   * An engine's PipelineUpdateEvent. Stale ones (old timestamp, engine not asked) are ignored.
   * @throws SchedulerError Internal when the pipeline, version or uid is unknown.
   */
  dataflowEvent: (core: Core, report: DataflowReport) =>
    changed(dataflowEvent(core.pipelines, report)),
  /** Retries, purges and reconnect graces that have come due (the facade's timer sends it). */
  tick: (core: Core) =>
    changed(
      mergeChanges(followModels(core, tickModels(core.models)), tickPipelines(core.pipelines)),
    ),
} satisfies Record<string, (core: Core, ...args: never[]) => Done<unknown>>;

type Commands = typeof commands;
export type CommandName = keyof Commands;
/** A command's arguments, after the core. */
export type ArgsOf<K extends CommandName> = Commands[K] extends (
  core: Core,
  ...args: infer A
) => unknown
  ? A
  : never;
export type ResultOf<K extends CommandName> = ReturnType<Commands[K]>['value'];
/** A command as the supervisor actor receives it. */
export type Command = {
  [K in CommandName]: { readonly type: K; readonly args: ArgsOf<K> };
}[CommandName];
/** One method per command, sending it and answering its result (the facade's). */
export type CommandMethods = { [K in keyof Commands]: (...args: ArgsOf<K>) => ResultOf<K> };

/** Runs one command on the core (throwing what it throws). */
export function runCommand(core: Core, command: Command): Done<unknown> {
  const handler = commands[command.type] as (core: Core, ...args: unknown[]) => Done<unknown>;
  return handler(core, ...command.args);
}

/** Whether an event is one of the commands (XState sends its own events too). */
export const isCommand = (event: { type: string }): event is Command =>
  Object.hasOwn(commands, event.type);
