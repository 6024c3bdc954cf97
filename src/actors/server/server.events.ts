import type { ReplicaConfig, ServerDeclaration } from '../../domain/server.js';

export type ServerEvent =
  | { type: 'operator.declared'; at: number; declaration: ServerDeclaration }
  | { type: 'agent.replicaJoined'; at: number; shared: boolean }
  | { type: 'agent.replicaLeft'; at: number; remaining: number };

export interface ServerContext extends ServerDeclaration {
  at: number;
}

export type ServerReplicaEvent =
  | { type: 'agent.memoryReported'; at: number; availableMemoryBytes: number }
  | { type: 'agent.drainRequested'; at: number };

export interface ServerReplicaInput {
  server: string;
  idx: number;
  config: ReplicaConfig;
  availableMemoryBytes: number;
  at: number;
}

export type ServerReplicaContext = ServerReplicaInput;
