/**
 * Why placement decides what it decides: the decision of {@link plan}, observed as it is made (the
 * same filters and sorters, never a copy), with the numbers behind every verdict and, when a model
 * cannot be placed (or only partly), the smallest changes that would let it.
 */
import { formatBytes } from '../domain/quantity.js';
import { replicaCapacity } from '../domain/server.js';
import { freeMemory } from './filters.js';
import { plan, type PlacementObserver } from './plan.js';
import type {
  PlacementRequest,
  PlacementResult,
  PlacementReplica,
  PlacementServer,
} from './types.js';

/** What placement does not see of a server replica, for the numbers of an explanation. */
export interface ReplicaDetail {
  /** The replica's memory as its agent declared it (bytes). */
  readonly memoryBytes: number;
  readonly overCommitPercentage: number;
  /** The model replicas it holds, with the memory each needs (what unloading would free). */
  readonly models: readonly { readonly model: string; readonly bytes: number }[];
}

export type ReplicaDetails = (server: string, idx: number) => ReplicaDetail | undefined;

export interface ReplicaExplanation {
  readonly idx: number;
  /** `chosen`, `suitable` (passed every filter, not needed) or `rejected` (by `rejectedBy`). */
  readonly verdict: 'chosen' | 'suitable' | 'rejected';
  readonly rejectedBy?: string;
  readonly why: string;
  /** 1-based place among the server's suitable replicas (their preference order). */
  readonly rank?: number;
  readonly availableBytes: number;
  readonly reservedBytes: number;
  readonly freeBytes: number;
  readonly neededBytes: number;
  /** It holds this version already (so it keeps it even when short of memory). */
  readonly holdsVersion: boolean;
  readonly draining: boolean;
  readonly memoryBytes?: number;
  readonly overCommitPercentage?: number;
}

export interface ServerExplanation {
  readonly name: string;
  /**
   * `chosen`; `rejected` by a server filter (`rejectedBy`); `tooFewReplicas` (its turn came and it
   * had fewer suitable replicas than wanted); `notConsidered` (an earlier server was chosen).
   */
  readonly verdict: 'chosen' | 'rejected' | 'tooFewReplicas' | 'notConsidered';
  readonly rejectedBy?: string;
  readonly why: string;
  /** 1-based place in the preference order of the servers that passed the server filters. */
  readonly order?: number;
  /** Capabilities the model requires and the server lacks. */
  readonly missingCapabilities: readonly string[];
  /** Suitable replicas found when its turn came. */
  readonly suitableReplicas?: number;
  /** Its replicas, each with its verdict (only when its turn came). */
  readonly replicas: readonly ReplicaExplanation[];
}

export interface PlacementExplanation {
  readonly result: PlacementResult;
  /** Why the chosen server and replicas won (empty when nothing was chosen). */
  readonly tieBreak: string;
  /** Every server: those considered in preference order, then the rejected ones by name. */
  readonly servers: readonly ServerExplanation[];
  /** The smallest changes that would place the model (fully), when it is not. */
  readonly suggestions: readonly string[];
}

const quote = (names: readonly string[]) => names.map((n) => `\`${n}\``).join(', ');

/** The capabilities of `req` that `server` lacks (as the requirements filter compares them). */
function missingCapabilities(req: PlacementRequest, server: PlacementServer): string[] {
  const caps = server.replicas[0]?.capabilities ?? [];
  return req.requirements.map((r) => r.trim()).filter((r) => !caps.includes(r));
}

function serverWhy(req: PlacementRequest, server: PlacementServer, rejectedBy: string): string {
  switch (rejectedBy) {
    case 'hasReplicas':
      return 'no replica of it is connected';
    case 'sharing':
      return req.server !== undefined && req.server !== ''
        ? `the model asks for server \`${req.server}\``
        : 'it is not shared: only models that name it (spec.server) go there';
    case 'notDeleted':
      return 'it is being deleted';
    case 'requirements':
      return `it lacks ${quote(missingCapabilities(req, server))}`;
    default:
      return `rejected by ${rejectedBy}`;
  }
}

function replicaWhy(
  req: PlacementRequest,
  rep: PlacementReplica,
  rejectedBy: string | undefined,
  holds: boolean,
) {
  const free = freeMemory(rep);
  const memory =
    `${formatBytes(free)} free (${formatBytes(rep.availableMemory)} available − ` +
    `${formatBytes(rep.reservedMemory)} reserved for loads in flight), needs ` +
    formatBytes(req.requiredMemory);
  switch (rejectedBy) {
    case undefined:
      return holds
        ? `it holds this version already, so its memory is counted (${formatBytes(free)} free besides)`
        : memory;
    case 'memory':
      return `${formatBytes(req.requiredMemory - free)} short: ${memory}`;
    case 'explainer':
      return 'it lacks `alibi-explain` (the model has an explainer)';
    case 'notDraining':
      return 'it is draining';
    default:
      return `rejected by ${rejectedBy}`;
  }
}

/**
 * Places `req` on `servers` exactly as {@link plan} does (it is `plan`, observed) and explains the
 * decision. `details` adds what placement does not see (declared memory, over-commit, the models a
 * replica holds) to the numbers and the suggestions.
 */
export function explainPlacement(
  req: PlacementRequest,
  servers: readonly PlacementServer[],
  details: ReplicaDetails = () => undefined,
): PlacementExplanation {
  const rejected = new Map<PlacementServer, string>();
  const order: PlacementServer[] = [];
  const replicaVerdicts = new Map<PlacementServer, Map<PlacementReplica, string | undefined>>();
  const ranks = new Map<PlacementServer, readonly PlacementReplica[]>();
  const observer: PlacementObserver = {
    server: (server, rejectedBy) => {
      if (rejectedBy !== undefined) rejected.set(server, rejectedBy);
    },
    replica: (server, rep, rejectedBy) => {
      let verdicts = replicaVerdicts.get(server);
      if (!verdicts) {
        verdicts = new Map();
        replicaVerdicts.set(server, verdicts);
        order.push(server);
      }
      verdicts.set(rep, rejectedBy);
    },
    ranked: (server, suitable) => {
      if (!replicaVerdicts.has(server)) {
        replicaVerdicts.set(server, new Map());
        order.push(server);
      }
      ranks.set(server, suitable);
    },
  };
  const result = plan(req, servers, observer);
  const chosenServer = result.ok ? result.server : undefined;
  const chosenIdxs = new Set(result.ok ? result.replicaIdxs : []);
  const holds = (server: PlacementServer, rep: PlacementReplica) => {
    return server.name === req.currentServer && req.current[rep.idx]?.placed === true;
  };
  const eligible = servers.filter((s) => !rejected.has(s));

  const explainReplica = (server: PlacementServer, rep: PlacementReplica): ReplicaExplanation => {
    const rejectedBy = replicaVerdicts.get(server)?.get(rep);
    const rank = (ranks.get(server) ?? []).indexOf(rep);
    const chosen = server.name === chosenServer && chosenIdxs.has(rep.idx);
    const detail = details(server.name, rep.idx);
    const holding = holds(server, rep);
    return {
      idx: rep.idx,
      verdict: chosen ? 'chosen' : rejectedBy === undefined ? 'suitable' : 'rejected',
      ...(rejectedBy === undefined ? {} : { rejectedBy }),
      why: replicaWhy(req, rep, rejectedBy, holding),
      ...(rank >= 0 ? { rank: rank + 1 } : {}),
      availableBytes: rep.availableMemory,
      reservedBytes: rep.reservedMemory,
      freeBytes: freeMemory(rep),
      neededBytes: req.requiredMemory,
      holdsVersion: holding,
      draining: rep.draining,
      ...(detail
        ? { memoryBytes: detail.memoryBytes, overCommitPercentage: detail.overCommitPercentage }
        : {}),
    };
  };

  const considered = order.map((server, k): ServerExplanation => {
    const suitable = ranks.get(server)?.length ?? 0;
    const chosen = server.name === chosenServer;
    return {
      name: server.name,
      verdict: chosen ? 'chosen' : 'tooFewReplicas',
      why: chosen
        ? result.ok && result.partial
          ? `only ${suitable} of ${req.replicas} wanted replicas suitable (min replicas ${req.minReplicas})`
          : `${suitable} suitable replica(s) for ${req.replicas} wanted`
        : `${suitable} of ${req.replicas} wanted replicas suitable` +
          (req.minReplicas > 0 ? ` (min replicas ${req.minReplicas})` : ''),
      order: k + 1,
      missingCapabilities: [],
      suitableReplicas: suitable,
      replicas: server.replicas.map((rep) => explainReplica(server, rep)),
    };
  });
  const seen = new Set(order);
  // Passed the server filters but never looked at: an earlier server had enough replicas.
  const skipped = eligible
    .filter((s) => !seen.has(s))
    .map((server, k): ServerExplanation => ({
      name: server.name,
      verdict: 'notConsidered',
      why: `not looked at: \`${chosenServer ?? ''}\` came first in preference order`,
      order: order.length + k + 1,
      missingCapabilities: [],
      replicas: [],
    }));
  const refused = [...rejected]
    .sort(([a], [b]) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map(([server, rejectedBy]): ServerExplanation => ({
      name: server.name,
      verdict: 'rejected',
      rejectedBy,
      why: serverWhy(req, server, rejectedBy),
      missingCapabilities: rejectedBy === 'requirements' ? missingCapabilities(req, server) : [],
      replicas: [],
    }));

  return {
    result,
    tieBreak: tieBreak(req, result, considered),
    servers: [...considered, ...skipped, ...refused],
    suggestions:
      result.ok && !result.partial
        ? []
        : suggest(req, servers, rejected, order, replicaVerdicts, details),
  };
}

function tieBreak(
  req: PlacementRequest,
  result: PlacementResult,
  considered: readonly ServerExplanation[],
): string {
  if (!result.ok) return '';
  const passedOver = considered.filter((s) => s.name !== result.server).map((s) => s.name);
  const server =
    result.server === req.currentServer
      ? `\`${result.server}\` already hosts this version, so it is considered first`
      : result.partial
        ? `no server had ${req.replicas} suitable replicas; \`${result.server}\` is the first, ` +
          `by name, with at least min replicas ${req.minReplicas}`
        : `\`${result.server}\` is the first server, by name, with ${req.replicas} suitable ` +
          'replica(s)' +
          (passedOver.length > 0 ? ` (${quote(passedOver)} had too few)` : '');
  return (
    `${server}; its replicas are taken in order: those already holding this version, then the ` +
    'most free memory, then the lowest index'
  );
}

/** What would place the model: per server, the smallest change, most promising server first. */
function suggest(
  req: PlacementRequest,
  servers: readonly PlacementServer[],
  rejected: ReadonlyMap<PlacementServer, string>,
  considered: readonly PlacementServer[],
  verdicts: ReadonlyMap<PlacementServer, ReadonlyMap<PlacementReplica, string | undefined>>,
  details: ReplicaDetails,
): string[] {
  const out: string[] = [];
  if (servers.length === 0) {
    return ['no server is connected: start one (its agents register it with the scheduler)'];
  }
  const named = req.server !== undefined && req.server !== '' ? req.server : undefined;
  if (named !== undefined && !servers.some((s) => s.name === named)) {
    out.push(`no server named \`${named}\` is connected: start it, or change spec.server`);
  }
  const want = req.replicas;
  for (const server of considered) {
    const v = verdicts.get(server) ?? new Map<PlacementReplica, string | undefined>();
    const suitable = [...v.values()].filter((r) => r === undefined).length;
    const missing = want - suitable;
    if (missing <= 0) continue;
    const fixes: string[] = [];
    // Replicas short of memory only: how much, and which models here would free it.
    const short = server.replicas
      .filter((rep) => v.get(rep) === 'memory')
      .map((rep) => ({ rep, short: req.requiredMemory - freeMemory(rep) }))
      .sort((a, b) => a.short - b.short || a.rep.idx - b.rep.idx)
      .slice(0, missing);
    for (const { rep, short: bytes } of short) {
      const detail = details(server.name, rep.idx);
      const most = detail && replicaCapacity(detail);
      fixes.push(
        most !== undefined && req.requiredMemory > most
          ? `replica ${server.name}/${rep.idx} holds at most ${formatBytes(most)} in all ` +
              `(${formatBytes(detail?.memoryBytes ?? 0)} + ${detail?.overCommitPercentage ?? 0}% ` +
              `over-commit), the model needs ${formatBytes(req.requiredMemory)}: give it less ` +
              'memory, or the server more'
          : `replica ${server.name}/${rep.idx} is ${formatBytes(bytes)} short` +
              unloading([...(detail?.models ?? [])], bytes),
      );
    }
    for (const rep of server.replicas) {
      if (v.get(rep) === 'notDraining') fixes.push(`replica ${server.name}/${rep.idx} is draining`);
      if (v.get(rep) === 'explainer') {
        fixes.push(`replica ${server.name}/${rep.idx} lacks \`alibi-explain\``);
      }
    }
    if (server.replicas.length < want) {
      fixes.push(
        `needs ${want} replicas, server \`${server.name}\` has ${server.replicas.length}: ` +
          `scale it to ${want}`,
      );
    }
    if (suitable > 0 && req.minReplicas === 0) {
      fixes.push(`or set min replicas to ${suitable} to place ${suitable} now`);
    }
    out.push(...fixes);
  }
  for (const [server, rejectedBy] of rejected) {
    if (rejectedBy === 'requirements') {
      out.push(`server \`${server.name}\` lacks ${quote(missingCapabilities(req, server))}`);
    } else if (rejectedBy === 'hasReplicas') {
      out.push(`server \`${server.name}\` has no replica connected: scale it up`);
    } else if (rejectedBy === 'sharing' && named === undefined) {
      out.push(
        `server \`${server.name}\` is not shared: name it in spec.server to place the model there`,
      );
    }
  }
  return out;
}

/** "; unloading `m7` would free 300 MiB": the fewest models (smallest single one first) enough. */
function unloading(models: { model: string; bytes: number }[], bytes: number): string {
  const single = models
    .filter((m) => m.bytes >= bytes)
    .sort((a, b) => a.bytes - b.bytes || (a.model < b.model ? -1 : 1))[0];
  let picked = single ? [single] : [];
  if (!single) {
    let freed = 0;
    for (const m of [...models].sort((a, b) => b.bytes - a.bytes)) {
      if (freed >= bytes) break;
      picked.push(m);
      freed += m.bytes;
    }
    if (freed < bytes) picked = [];
  }
  if (picked.length === 0) return '';
  const freed = picked.reduce((sum, m) => sum + m.bytes, 0);
  return `; unloading ${quote(picked.map((m) => m.model))} would free ${formatBytes(freed)}`;
}
