/** The server vocabulary: what the scheduler knows of a server and of each of its replicas. */

/** Static facts an agent announces for its replica when it subscribes. */
export interface ReplicaConfig {
  inferenceSvc: string;
  inferenceHttpPort: number;
  inferenceGrpcPort: number;
  memoryBytes: number;
  capabilities: string[];
  overCommitPercentage: number;
}

/** The most a replica can hold: its memory plus the over-commit on top (whole bytes). */
export const replicaCapacity = (c: Pick<ReplicaConfig, 'memoryBytes' | 'overCommitPercentage'>) =>
  Math.floor(c.memoryBytes * (1 + c.overCommitPercentage / 100));

/** What the Kubernetes operator declares of a server through ServerNotify. */
export interface ServerDeclaration {
  name: string;
  expectedReplicas: number;
  minReplicas: number;
  maxReplicas: number;
  shared: boolean;
  kubernetesMeta?: { namespace: string; generation: number };
}

/** Server-replica lifecycle states. */
export type ServerReplicaState = 'connected' | 'draining';

/** A server's lifecycle states: declared without replicas, serving, or scaled to zero (being deleted). */
export type ServerState = 'declared' | 'serving' | 'deleting';

/** expectedReplicas of a server no ServerNotify has declared yet. */
export const UNDECLARED_REPLICAS = -1;
