import type { Registry } from 'prom-client';
import { planRequestFromProto } from '../wire/placement.js';
import type { Config } from '../config/config.js';
import { PlanRequest } from '../gen/mlsched/placement/v1/placement.js';
import type { HttpViews } from '../http/routes.js';
import type { SnapshotStore } from '../store/ports.js';
import type { Role } from './role.js';

/**
 * What the HTTP port shows: health (the store's too; on a standby, 503 naming the leader), the
 * process's metrics and the leader's, the leader's system and dashboard, and plan requests decoded
 * as the Placement service decodes them.
 */
export function httpViews(
  config: Config,
  store: SnapshotStore,
  role: Role,
  processMetrics: Registry,
): HttpViews {
  return {
    health: () => {
      const c = role.active();
      const storeHealth = { kind: config.store.kind, ...store.health() };
      if (!c) {
        return {
          code: 503,
          body: {
            status: 'NOT_SERVING',
            detail: role.standby(),
            leader: role.named() ?? null,
            store: storeHealth,
          },
        };
      }
      return {
        code: 200,
        body: {
          status: 'SERVING',
          ...(config.ha ? { role: 'leader' } : {}),
          restored: c.restored,
          store: {
            ...storeHealth,
            writing: c.persistence.healthy,
            pendingRecords: c.persistence.pending,
          },
        },
      };
    },
    metrics: async () => {
      const texts = await Promise.all([
        processMetrics.metrics(),
        role.term?.metrics.metrics() ?? '',
      ]);
      return { contentType: processMetrics.contentType, text: texts.join('') };
    },
    leader: () =>
      role.active() ?? {
        standby: { status: 'NOT_SERVING', detail: role.standby(), leader: role.named() ?? null },
      },
    planRequest: (body) => planRequestFromProto(PlanRequest.fromJSON(body)),
  };
}
