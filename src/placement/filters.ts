import type { PlacementRequest, PlacementReplica, PlacementServer } from './types.js';

/** A named predicate, so a rejection can say which filter refused. */
export interface Filter<T> {
  readonly name: string;
  passes(req: PlacementRequest, subject: T, server: PlacementServer): boolean;
}

// Seldon parity: scheduler/pkg/scheduler/filters/{serverreplicas,sharing,deletedserver,serverrequirements}.go
export const serverFilters: readonly Filter<PlacementServer>[] = [
  { name: 'hasReplicas', passes: (_r, s) => s.replicas.length > 0 },
  {
    name: 'sharing',
    passes: (r, s) => (r.server === undefined || r.server === '' ? s.shared : s.name === r.server),
  },
  { name: 'notDeleted', passes: (_r, s) => s.expectedReplicas !== 0 },
  {
    name: 'requirements',
    passes: (r, s) => {
      // Replicas of one server are homogeneous: any replica speaks for all of them.
      const caps = s.replicas[0]?.capabilities ?? [];
      return r.requirements.every((req) => caps.includes(req.trim()));
    },
  },
];

/** True when this version already occupies the replica (so it keeps it even when full). */
const hosts = (r: PlacementRequest, rep: PlacementReplica, s: PlacementServer): boolean => {
  return s.name === r.currentServer && r.current[rep.idx]?.loadSent === true;
};

/** Free memory for placement: what the agent reports minus what is promised to pending loads. */
export const freeMemory = (rep: PlacementReplica): number =>
  Math.max(0, rep.availableMemory - rep.reservedMemory);

// Seldon parity: scheduler/pkg/scheduler/filters/{replicamemory,explainer,replicadraining}.go
export const replicaFilters: readonly Filter<PlacementReplica>[] = [
  {
    name: 'memory',
    passes: (r, rep, s) => r.requiredMemory <= freeMemory(rep) || hosts(r, rep, s),
  },
  {
    name: 'explainer',
    passes: (r, rep) => !r.explainer || rep.capabilities.includes('alibi-explain'),
  },
  { name: 'notDraining', passes: (_r, rep) => !rep.draining },
];
