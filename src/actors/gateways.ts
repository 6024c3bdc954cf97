import type { ModelDefinition } from '../domain/model.js';

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
}

/** Ask the operator to run `expectedReplicas` replicas of `server`. */
export interface ScalingRequest {
  readonly server: string;
  readonly expectedReplicas: number;
}
