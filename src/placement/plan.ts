import { replicaFilters, serverFilters } from './filters.js';
import { sortReplicas, sortServers } from './sorters.js';
import {
  NO_MATCHING_SERVERS,
  NOT_ENOUGH_REPLICAS,
  type PlacementRequest,
  type PlacementResult,
  type ReplicaView,
  type ServerView,
} from './types.js';

/**
 * Chooses the server and replicas for one model version. Pure and deterministic.
 *
 * Pass A takes the first server (in preference order) with at least `replicas` suitable replicas; if
 * none has, and `minReplicas` > 0, pass B takes the first with at least `minReplicas` and places as
 * many as fit. Seldon parity: scheduler/pkg/scheduler/scheduler.go scheduleToServer.
 */
export function plan(req: PlacementRequest, servers: readonly ServerView[]): PlacementResult {
  const eligible = sortServers(
    req,
    servers.filter((s) => serverFilters.every((f) => f.passes(req, s, s))),
  );
  if (eligible.length === 0) return { ok: false, reason: NO_MATCHING_SERVERS };

  // Each server's suitable replicas, computed when the server's turn comes: the first with enough
  // ends the search (with thousands of replicas, most servers are never looked at).
  const candidates: { server: ServerView; replicas: ReplicaView[] }[] = [];
  for (const server of eligible) {
    const replicas = sortReplicas(
      req,
      server,
      server.replicas.filter((rep) => replicaFilters.every((f) => f.passes(req, rep, server))),
    );
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

export type { PlacementRequest, PlacementResult, ReplicaView, ServerView };
