import type { ModelDefinition } from '../domain/model.js';
import type { PipelineDefinition } from '../domain/pipeline.js';

/** An operation for an agent: what the agent's Subscribe stream carries. */
export interface AgentOp {
  operation: 'load' | 'unload';
  definition: ModelDefinition;
  version: number;
  autoscalingEnabled: boolean;
}

/**
 * The gateway through which the supervisor talks to agents. The agent adapter implements it over
 * the replicas' Subscribe streams; tests provide recording ones.
 */
export interface AgentGateway {
  /** True when an agent stream is registered for the server replica. */
  isConnected(server: string, idx: number): boolean;
  /** Writes the op on the replica's stream; returns an error text when it could not be sent. */
  send(server: string, idx: number, op: AgentOp): string | undefined;
}

/** What changed in one command, for status streams (they re-read current state when they send). */
export interface Changes {
  readonly models: readonly string[];
  readonly servers: readonly string[];
  /** Server scale requests for the operator (Seldon's ServerStatus ScalingRequest). */
  readonly scaling: readonly ScalingRequest[];
  /** Pipeline versions whose state, reason or modelsReady changed. */
  readonly pipelines: readonly { readonly name: string; readonly version: number }[];
  readonly experiments: readonly string[];
}

/** Ask the operator to run `expectedReplicas` replicas of `server`. */
export interface ScalingRequest {
  readonly server: string;
  readonly expectedReplicas: number;
}

/**
 * An instruction for a dataflow engine (what its Chainer SubscribePipelineUpdates stream carries):
 * create the pipeline version's dataflow, or delete it. `timestamp` identifies this send; the engine
 * echoes it in its acknowledgement, and acknowledgements of older sends are ignored.
 */
export interface DataflowOp {
  op: 'create' | 'delete';
  definition: PipelineDefinition;
  version: number;
  uid: string;
  timestamp: number;
  /** On delete: keep the pipeline's topics (an old version retired by a newer one). */
  keepTopics: boolean;
}

/** The gateway through which the pipeline supervisor talks to dataflow engines. */
export interface DataflowGateway {
  /** Writes the op on the engine's stream; returns an error text when it could not be sent. */
  send(engine: string, op: DataflowOp): string | undefined;
}

/**
 * What an engine reported through Chainer PipelineUpdateEvent: the outcome of a create or delete we
 * sent (echoing its timestamp), or, unprompted, that the pipeline is rebalancing or ready again.
 */
export interface DataflowReport {
  engine: string;
  op: 'create' | 'delete' | 'rebalance' | 'ready';
  pipeline: string;
  version: number;
  uid: string;
  timestamp: number;
  success: boolean;
  reason: string;
}
