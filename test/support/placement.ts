/** Placement's inputs for the tests of the pure placement functions. */
import type {
  PlacementReplica,
  PlacementRequest,
  PlacementServer,
} from '../../src/placement/types.js';

/** A server replica with `availableMemory` free, speaking sklearn and xgboost. */
export const replica = (
  idx: number,
  availableMemory = 1000,
  o: Partial<PlacementReplica> = {},
): PlacementReplica => ({
  idx,
  capabilities: ['sklearn', 'xgboost'],
  availableMemory,
  reservedMemory: 0,
  draining: false,
  ...o,
});

/** A shared server, never declared by ServerNotify. */
export const server = (
  name: string,
  replicas: PlacementServer['replicas'],
  o: Partial<PlacementServer> = {},
): PlacementServer => ({
  name,
  shared: true,
  expectedReplicas: -1,
  replicas,
  ...o,
});

/** One replica of a new sklearn model needing 100 bytes. */
export const request = (o: Partial<PlacementRequest> = {}): PlacementRequest => ({
  requirements: ['sklearn'],
  requiredMemory: 100,
  explainer: false,
  replicas: 1,
  minReplicas: 0,
  currentServer: '',
  current: {},
  ...o,
});
