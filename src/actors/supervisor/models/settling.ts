// The end of every command: changed models are driven to a fixed point and the changes taken.
import { internal } from '../../../domain/errors.js';
import type { Changes } from '../../gateways.js';
import type { ReplicaEvent } from '../../replica/replica.events.js';
import { modelStateOf, replicaStateOf } from '../views.js';
import { reindex, retryWaiting } from './scheduling.js';
import { latestOf, type ModelEntry, type Models } from './state.js';
import { recompute, sendOp, sendReplica } from './steps.js';

/**
 * Drives every changed model to a fixed point (routing, agent ops, state derivation, retirement of
 * old versions), retries waiting models when capacity changed, and reports what changed. Every
 * command ends here; so does a refused one, to report the facts it recorded first.
 */
export function finish(s: Models): Changes {
  const seen = new Set<string>();
  let guard = 0;
  for (;;) {
    const pending = [...s.changes.models].filter((n) => !seen.has(n));
    if (s.capacityChanged) {
      s.capacityChanged = false;
      retryWaiting(s);
      continue;
    }
    if (pending.length === 0) break;
    if (++guard > 10_000) throw internal('supervisor did not settle');
    for (const name of pending) {
      seen.add(name);
      const m = s.models.get(name);
      if (m) settleModel(s, m, seen);
    }
  }
  for (const name of s.changes.models) reindex(s, name);
  s.scheduled.clear();
  return s.changes.take();
}

/** Runs routing, agent sync, derivation and retirement for one model until nothing moves. */
function settleModel(s: Models, m: ModelEntry, seen: Set<string>): void {
  const at = s.opts.now();
  for (let moved = true, rounds = 0; moved; rounds++) {
    if (rounds > 1000) throw internal(`model ${m.name} did not settle`);
    moved = false;
    const latest = latestOf(m);
    for (const v of m.versions) {
      for (const [idx, r] of v.replicas) {
        const st = replicaStateOf(r);
        let event: ReplicaEvent | undefined;
        if ((st === 'loaded' || st === 'loadedUnavailable') && v === latest && !m.deleted) {
          event = { type: 'routing.ready', at };
        } else if (st === 'unloadEnvoyRequested') {
          event = { type: 'routing.removed', at };
        } else if (st === 'loadRequested' && v === latest && canTakeLoad(s, v.server, idx)) {
          const error = sendOp(s, 'load', v, idx);
          event =
            error === undefined
              ? { type: 'agent.loadSent', at }
              : { type: 'agent.loadSendFailed', at, reason: error };
        } else if (st === 'unloadRequested') {
          // A replica whose agent is gone has nothing left to unload.
          const error = s.opts.agents.isConnected(v.server, idx)
            ? sendOp(s, 'unload', v, idx)
            : null;
          event =
            error === null
              ? { type: 'server.replicaGone', at }
              : error === undefined
                ? { type: 'agent.unloadSent', at }
                : { type: 'agent.unloadSendFailed', at, reason: error };
        }
        if (event) moved = sendReplica(s, m, v, r, event) || moved;
      }
    }
    for (const v of m.versions) {
      if (s.dirty.delete(v)) recompute(s, m, v);
    }
    // Retire old versions once the latest is Available (Seldon parity: cleaner/versions.go).
    // Until then the last Available one keeps serving; unlike Seldon, versions between it and
    // the latest, which never served, are unloaded at once: at most two versions hold replicas.
    if (latest && !m.deleted) {
      const serving =
        modelStateOf(latest.actor) === 'available'
          ? undefined
          : m.versions.findLast((v) => v !== latest && modelStateOf(v.actor) === 'available');
      for (const v of m.versions) {
        if (v === latest || v === serving) continue;
        for (const r of v.replicas.values()) {
          const st = replicaStateOf(r);
          if (!r.hasTag('leaving') && st !== 'unloadFailed' && st !== 'loadFailed') {
            moved = sendReplica(s, m, v, r, { type: 'placement.unloadRequested', at }) || moved;
          }
        }
      }
    }
  }
  seen.add(m.name);
}

function canTakeLoad(s: Models, server: string, idx: number): boolean {
  const rep = s.servers.get(server)?.replicas.get(idx);
  return !!rep && !rep.actor.hasTag('draining') && s.opts.agents.isConnected(server, idx);
}
