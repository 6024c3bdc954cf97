import type { ServerStatusView } from '../../actors/index.js';
import { invalidSpec } from '../../domain/errors.js';
import { checkInt, checkServerName } from '../../domain/names.js';
import type { ServerDeclaration } from '../../domain/server.js';
import {
  ServerStatusResponse_Type,
  type ServerNotifyRequest,
  type ServerStatusRequest,
  type ServerStatusResponse,
} from '../../gen/mlops/scheduler/scheduler.js';
import {
  checkUint32,
  int64,
  kubernetesMetaFromProto,
  kubernetesMetaToProto,
  LIMITS,
} from '../limits.js';

/**
 * The server a ServerStatus request names, or undefined for every server.
 * @throws SchedulerError InvalidSpec naming `name`.
 */
export const serverStatusFromProto = (req: ServerStatusRequest): string | undefined =>
  req.name === undefined ? undefined : checkServerName('name', req.name);

/**
 * Decodes and validates a ServerNotify request; nothing is applied unless every entry is valid.
 * @throws SchedulerError InvalidSpec naming the first bad field.
 */
export function serverNotifyFromProto(req: ServerNotifyRequest): ServerDeclaration[] {
  if (req.servers.length > LIMITS.listLength) {
    throw invalidSpec('servers', `has ${req.servers.length} entries; at most ${LIMITS.listLength}`);
  }
  const seen = new Set<string>();
  return req.servers.map((s, i) => {
    const f = `servers[${i}]`;
    const name = checkServerName(`${f}.name`, s.name);
    if (seen.has(name)) throw invalidSpec(`${f}.name`, `server ${name} is listed twice`);
    seen.add(name);
    const d: ServerDeclaration = {
      name,
      expectedReplicas: checkInt(`${f}.expectedReplicas`, s.expectedReplicas, 0, LIMITS.replicas),
      minReplicas: checkInt(`${f}.minReplicas`, s.minReplicas, 0, LIMITS.replicas),
      // A bound (Seldon's operator sends 4294967295 when the Server sets none).
      maxReplicas: checkUint32(`${f}.maxReplicas`, s.maxReplicas),
      shared: s.shared,
    };
    if (s.kubernetesMeta)
      d.kubernetesMeta = kubernetesMetaFromProto(`${f}.kubernetesMeta`, s.kubernetesMeta);
    return d;
  });
}

/** A ScalingRequest asking the operator for `expectedReplicas` replicas of the server. */
export function scalingRequestToProto(
  serverName: string,
  expectedReplicas: number,
  kubernetesMeta: ServerStatusView['kubernetesMeta'],
): ServerStatusResponse {
  const out: ServerStatusResponse = {
    type: ServerStatusResponse_Type.ScalingRequest,
    serverName,
    resources: [],
    expectedReplicas,
    availableReplicas: 0,
    numLoadedModelReplicas: 0,
  };
  if (kubernetesMeta) out.kubernetesMeta = kubernetesMetaToProto(kubernetesMeta);
  return out;
}

/** A StatusUpdate for one server: draining replicas are left out, as Seldon does. */
export function serverStatusToProto(s: ServerStatusView): ServerStatusResponse {
  const resources = s.replicas
    .filter((r) => !r.draining)
    .map((r) => ({
      replicaIdx: r.idx,
      totalMemoryBytes: int64(r.totalMemoryBytes),
      availableMemoryBytes: int64(r.availableMemoryBytes),
      numLoadedModels: r.numLoadedModels,
      overCommitPercentage: r.overCommitPercentage,
    }));
  const out: ServerStatusResponse = {
    type: ServerStatusResponse_Type.StatusUpdate,
    serverName: s.name,
    resources,
    expectedReplicas: s.expectedReplicas,
    availableReplicas: resources.length,
    numLoadedModelReplicas: resources.reduce((n, r) => n + r.numLoadedModels, 0),
  };
  if (s.kubernetesMeta) out.kubernetesMeta = kubernetesMetaToProto(s.kubernetesMeta);
  return out;
}
