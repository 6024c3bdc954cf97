import { requiredMemory } from '../../../domain/model.js';
import type { PlacementServer } from '../../../placement/types.js';
import { dueOf, isWaiting, nextDueAt, placementServer, placementView } from './scheduling.js';
import type { Models } from './state.js';

/**
 * Where the indexes kept for speed (reserved memory and occupancy per server replica, due times,
 * models waiting for capacity) disagree with what they index, recomputed the slow way; empty when
 * they agree. For tests.
 */
export function audit(s: Models): string[] {
  const found: string[] = [];
  for (const [server, entry] of s.servers) {
    for (const [idx, rep] of entry.replicas) {
      let reserved = 0;
      let busy = false;
      const held = new Set<string>();
      for (const r of rep.hosted) {
        if (r.context.holdsModel) held.add(r.context.model);
        const reserves = r.hasTag('reservesMemory');
        busy ||= reserves || r.context.holdsModel;
        if (!reserves && !r.context.loadInFlight) continue;
        const v = s.models
          .get(r.context.model)
          ?.versions.find((x) => x.version === r.context.version);
        if (v) reserved += requiredMemory(v.definition.spec);
      }
      if (reserved !== rep.hosted.reservedBytes())
        found.push(
          `${server}/${idx}: reserved ${rep.hosted.reservedBytes()}, should be ${reserved}`,
        );
      if (busy !== rep.hosted.isBusy())
        found.push(`${server}/${idx}: busy ${rep.hosted.isBusy()}, should be ${busy}`);
      if (held.size !== rep.hosted.heldModelCount())
        found.push(
          `${server}/${idx}: ${rep.hosted.heldModelCount()} models, should be ${held.size}`,
        );
    }
  }
  const shape = (views: readonly PlacementServer[]) =>
    views.map((sv) => `${sv.name}:${sv.replicas.map((rep) => rep.idx).join('/')}`).join();
  const fresh = [...s.servers.values()]
    .map(placementServer)
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  if (shape(fresh) !== shape(placementView(s))) {
    found.push(`placement sees ${shape(placementView(s))}, should see ${shape(fresh)}`);
  }
  let due = s.grace.dueAt;
  for (const name of s.models.keys()) {
    const d = dueOf(s, name);
    if (d !== undefined && (due === undefined || d < due)) due = d;
  }
  if (due !== nextDueAt(s)) found.push(`next due ${nextDueAt(s)}, should be ${due}`);
  const waiting = [...s.models.keys()].filter((name) => isWaiting(s, name)).sort();
  if (waiting.join() !== [...s.waiting].sort().join()) {
    found.push(`waiting ${[...s.waiting].sort().join()}, should be ${waiting.join()}`);
  }
  return found;
}
