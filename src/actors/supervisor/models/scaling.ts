// Scale requests for the operator, decided as replicas are placed and emptied.
import { latestOf, type Models } from './state.js';

/**
 * Asks for more replicas of a server when its models want more than it has (Seldon parity:
 * scheduler/pkg/server/utils.go shouldScaleUp): up to the most replicas any of its models wants,
 * capped by its maxReplicas. Only servers declared by ServerNotify are scaled.
 */
export function considerScaleUp(s: Models, server: string): void {
  const ctx = s.servers.get(server)?.actor.context;
  if (!ctx || ctx.expectedReplicas < 0 || ctx.maxReplicas < 1) return;
  let wanted = 0;
  for (const m of s.models.values()) {
    const latest = latestOf(m);
    if (latest?.server === server) {
      wanted = Math.max(wanted, latest.definition.deployment?.replicas ?? 0);
    }
  }
  if (wanted > ctx.expectedReplicas)
    s.changes.scaling.set(server, Math.min(wanted, ctx.maxReplicas));
}

/**
 * Asks for fewer replicas of a server when some of them hold nothing (Seldon parity:
 * shouldScaleDown, without packing): never below max(1, minReplicas).
 */
export function considerScaleDown(s: Models, server: string): void {
  const entry = s.servers.get(server);
  const ctx = entry?.actor.context;
  if (!entry || !ctx || ctx.expectedReplicas <= 1) return;
  let empty = 0;
  for (const rep of entry.replicas.values()) if (!rep.hosted.isBusy()) empty++;
  const target = Math.max(1, ctx.minReplicas, ctx.expectedReplicas - empty);
  if (empty > 0 && target < ctx.expectedReplicas) s.changes.scaling.set(server, target);
}
