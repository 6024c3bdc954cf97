import { freeMemory } from './filters.js';
import type { PlacementRequest, PlacementReplica, PlacementServer } from './types.js';

/**
 * Servers in preference order: the one the version already lives on, then by name, so equal
 * candidates are always chosen the same way (Seldon leaves this to Go's random map order).
 */
export function sortServers(
  req: PlacementRequest,
  servers: readonly PlacementServer[],
): PlacementServer[] {
  return [...servers].sort((a, b) => {
    const ac = a.name === req.currentServer ? 0 : 1;
    const bc = b.name === req.currentServer ? 0 : 1;
    return ac - bc || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  });
}

/**
 * Replicas in preference order: those already holding this version, then the most free memory, then
 * the lowest index. Seldon parity: scheduler/pkg/scheduler/sorters/{loaded,memory,replicaindex}.go,
 * without its unsigned wrap-around when reservations exceed availability.
 */
export function sortReplicas(
  req: PlacementRequest,
  server: PlacementServer,
  replicas: readonly PlacementReplica[],
): PlacementReplica[] {
  const holds = (rep: PlacementReplica): number => {
    return server.name === req.currentServer && req.current[rep.idx]?.placed === true ? 0 : 1;
  };
  return [...replicas].sort(
    (a, b) => holds(a) - holds(b) || freeMemory(b) - freeMemory(a) || a.idx - b.idx,
  );
}
