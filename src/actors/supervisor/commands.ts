import type { ExperimentDefinition } from '../../domain/experiment.js';
import type { ModelDefinition } from '../../domain/model.js';
import type { PipelineDefinition } from '../../domain/pipeline.js';
import type { ServerDeclaration } from '../../domain/server.js';
import type { Changes, DataflowReport } from '../gateways.js';
import type { AgentReport, ReplicaJoin } from './views.js';

/**
 * Everything the supervisor is asked to do, by type: what the command carries and what it answers.
 * Most answer what they changed; every command's changes are also reported to listeners.
 */
export interface Commands {
  'model.load': { command: { definition: ModelDefinition }; result: Changes };
  'model.unload': {
    command: {
      name: string;
      kubernetesMeta?: { namespace: string; generation: number } | undefined;
    };
    result: Changes;
  };
  'server.notify': { command: { declarations: readonly ServerDeclaration[] }; result: Changes };
  'agent.replicaJoined': { command: { join: ReplicaJoin }; result: Changes };
  'agent.replicaLeft': { command: { server: string; idx: number }; result: Changes };
  'agent.event': { command: { report: AgentReport }; result: Changes };
  /** Answers the models that must become Available elsewhere before the drain is complete. */
  'agent.drain': { command: { server: string; idx: number }; result: string[] };
  'pipeline.load': { command: { definition: PipelineDefinition }; result: Changes };
  'pipeline.unload': { command: { name: string }; result: Changes };
  'experiment.start': { command: { definition: ExperimentDefinition }; result: Changes };
  'experiment.stop': { command: { name: string }; result: Changes };
  'dataflow.engineJoined': { command: { engine: string }; result: Changes };
  'dataflow.engineLeft': { command: { engine: string }; result: Changes };
  'dataflow.event': { command: { report: DataflowReport }; result: Changes };
  'clock.tick': { command: object; result: Changes };
}

export type CommandType = keyof Commands;
export type CommandOf<K extends CommandType> = { readonly type: K } & Commands[K]['command'];
export type Command = { [K in CommandType]: CommandOf<K> }[CommandType];
export type ResultOf<K extends CommandType> = Commands[K]['result'];

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
