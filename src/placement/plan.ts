import { replicaFilters, serverFilters } from './filters.js';
import { sortReplicas, sortServers } from './sorters.js';
import {
  NO_MATCHING_SERVERS,
  NOT_ENOUGH_REPLICAS,
  type PlacementRequest,
  type PlacementResult,
  type PlacementReplica,
  type PlacementServer,
} from './types.js';

/**
 * What placement decided on the way, for an explanation: each server's verdict (the first filter
 * that rejected it, or none), and for each server whose turn came, each replica's verdict and the
 * suitable replicas in preference order. Placement calls it as it decides; it never decides.
 */
export interface PlacementObserver {
  server(server: PlacementServer, rejectedBy: string | undefined): void;
  replica(server: PlacementServer, replica: PlacementReplica, rejectedBy: string | undefined): void;
  /** A server's turn ended: its suitable replicas, best first. */
  ranked(server: PlacementServer, suitable: readonly PlacementReplica[]): void;
}

/**
 * Chooses the server and replicas for one model version. Pure and deterministic.
 *
 * Pass A takes the first server (in preference order) with at least `replicas` suitable replicas; if
 * none has, and `minReplicas` > 0, pass B takes the first with at least `minReplicas` and places as
 * many as fit. Seldon parity: scheduler/pkg/scheduler/scheduler.go scheduleToServer. An `observer`
 * hears every verdict as it is made (see placement/explain.ts).
 */
export function plan(
  req: PlacementRequest,
  servers: readonly PlacementServer[],
  observer?: PlacementObserver,
): PlacementResult {
  const eligible = sortServers(
    req,
    servers.filter((s) => {
      const rejectedBy = serverFilters.find((f) => !f.passes(req, s, s))?.name;
      observer?.server(s, rejectedBy);
      return rejectedBy === undefined;
    }),
  );
  if (eligible.length === 0) return { ok: false, reason: NO_MATCHING_SERVERS };

  // Each server's suitable replicas, computed when the server's turn comes: the first with enough
  // ends the search (with thousands of replicas, most servers are never looked at).
  const candidates: { server: PlacementServer; replicas: PlacementReplica[] }[] = [];
  for (const server of eligible) {
    const replicas = sortReplicas(
      req,
      server,
      server.replicas.filter((rep) => {
        const rejectedBy = replicaFilters.find((f) => !f.passes(req, rep, server))?.name;
        observer?.replica(server, rep, rejectedBy);
        return rejectedBy === undefined;
      }),
    );
    observer?.ranked(server, replicas);
    if (replicas.length >= req.replicas) {
      return {
        ok: true,
        server: server.name,
        replicaIdxs: replicas.slice(0, req.replicas).map((r) => r.idx),
        partial: false,
      };
    }
    candidates.push({ server, replicas });
  }
  if (req.minReplicas > 0) {
    const partial = candidates.find((c) => c.replicas.length >= req.minReplicas);
    if (partial) {
      return {
        ok: true,
        server: partial.server.name,
        replicaIdxs: partial.replicas.slice(0, req.replicas).map((r) => r.idx),
        partial: true,
      };
    }
  }
  return { ok: false, reason: NOT_ENOUGH_REPLICAS };
}

export type { PlacementRequest, PlacementResult, PlacementReplica, PlacementServer };
