import type { Snapshot } from 'xstate';
import { Cell } from '../cell.js';
import { failedPrecondition, internal } from '../../domain/errors.js';
import {
  DEFAULT_DEPLOYMENT,
  diffDefinitions,
  sameSpec,
  isInactive,
  isLoadedish,
  isUnloadingOrUnloaded,
  MAX_VERSION,
  requiredMemory,
  reservesMemory,
  summarizeReplicas,
  type ModelDefinition,
  type ModelState,
  type ReplicaState,
} from '../../domain/model.js';
import type { ServerDeclaration } from '../../domain/server.js';
import { plan } from '../../placement/plan.js';
import type {
  PlacementRequest,
  ReplicaView as PlacementReplica,
  ServerView as PlacementServer,
} from '../../placement/types.js';
import type { AgentGateway, Changes } from '../gateways.js';
import { modelVersionMachine } from '../model/model.machine.js';
import { replicaMachine } from '../replica/replica.machine.js';
import type { ReplicaEvent } from '../replica/replica.events.js';
import { serverMachine } from '../server/server.machine.js';
import { serverReplicaMachine } from '../server/server-replica.machine.js';
import { DueTimes } from './due-times.js';
import { HostedReplicas } from './hosted.js';
import {
  modelStateOf,
  replicaStateOf,
  type AgentReport,
  type ReplicaJoin,
  type ModelView,
  type ServerStatusView,
  type VersionView,
} from './views.js';

type ReplicaActor = Cell<typeof replicaMachine>;
type VersionActor = Cell<typeof modelVersionMachine>;

interface VersionEntry {
  readonly version: number;
  definition: ModelDefinition;
  /** The server this version is placed on; '' when unplaced or reset after a failure. */
  server: string;
  readonly actor: VersionActor;
  /** Replicas of this version by replica index (all on `server`). */
  readonly replicas: Map<number, ReplicaActor>;
}

interface ModelEntry {
  readonly name: string;
  deleted: boolean;
  deletedAt: number;
  /** Ascending by version number; the last one is the latest. */
  versions: VersionEntry[];
  /** Back-off of retries after agent load failures. */
  retry: { attempts: number; dueAt: number };
}

/** The persisted form of a model (record `model:<name>`): plain JSON, actors as XState snapshots. */
export interface ModelRecord {
  name: string;
  deleted: boolean;
  deletedAt: number;
  retry: { attempts: number; dueAt: number };
  versions: {
    version: number;
    definition: ModelDefinition;
    server: string;
    actor: unknown;
    replicas: [number, unknown][];
  }[];
}

/** The persisted form of a server (record `server:<name>`), with its replicas as last seen. */
export interface ServerRecord {
  name: string;
  actor: unknown;
  replicas: [number, unknown][];
}

/** One server replica; what placement sees of it is read from its actor when placement asks. */
class ServerReplicaEntry implements PlacementReplica {
  /** Model replicas placed on this server replica (any version of any model). */
  readonly hosted: HostedReplicas;
  /**
   * `model:version` copies its agent announced although the version now runs on another server (the
   * agent came back after its models had moved): they are being unloaded, outside any version.
   */
  readonly staleCopies = new Set<string>();

  constructor(
    readonly actor: Cell<typeof serverReplicaMachine>,
    /** Restored after a restart and its agent has not reconnected yet: no new models go here. */
    readonly awaitingAgent: boolean,
    hosted?: HostedReplicas,
  ) {
    this.hosted = new HostedReplicas(hosted);
  }

  get idx(): number {
    return this.actor.getSnapshot().context.idx;
  }
  get capabilities(): readonly string[] {
    return this.actor.getSnapshot().context.config.capabilities;
  }
  get availableMemory(): number {
    return this.actor.getSnapshot().context.availableMemoryBytes;
  }
  get reservedMemory(): number {
    return this.hosted.reservedBytes();
  }
  get draining(): boolean {
    return this.actor.getSnapshot().hasTag('draining');
  }
}

interface ServerEntry {
  readonly actor: Cell<typeof serverMachine>;
  readonly replicas: Map<number, ServerReplicaEntry>;
  /** What placement sees of it, until a replica joins or leaves (see {@link placementView}). */
  view?: PlacementServer | undefined;
}

export interface SupervisorOptions {
  agents: AgentGateway;
  now: () => number;
  /** How long deleted models stay listed (ms). */
  deletedTtlMs: number;
  /** After a restart, how long restored replicas wait for their agents before their models move (ms). */
  reconnectGraceMs: number;
  /** First back-off after an agent load failure (ms); doubles per attempt up to `retryMaxMs`. */
  retryBaseMs: number;
  retryMaxMs: number;
}

const latestOf = (m: ModelEntry): VersionEntry | undefined => m.versions[m.versions.length - 1];

/**
 * The supervisor: the single writer of placement. Every command runs to completion (no awaits) and
 * leaves the world settled: routing promoted, agent ops sent, states derived, old versions retired.
 * It owns one actor per model version, model replica, server and server replica.
 */
export class Supervisor {
  private readonly models = new Map<string, ModelEntry>();
  private readonly servers = new Map<string, ServerEntry>();
  private changedModels = new Set<string>();
  private changedServers = new Set<string>();
  private capacityChanged = false;
  /** Versions whose replicas changed since their state was last derived. */
  private dirty = new Set<VersionEntry>();
  /** Scale requests decided during the current command, by server. */
  private scaling = new Map<string, number>();
  /** Models placed during the current command (not retried again by it). */
  private scheduled = new Set<string>();
  /** Until when restored replicas wait for their agents (ms since epoch); 0 when none wait. */
  private graceUntil = 0;
  /** When each model's retry or purge is due, kept up to date for every changed model. */
  private readonly dues = new DueTimes<string>();
  /** Models waiting for capacity ({@link isWaiting}), so that freed capacity need not walk all. */
  private readonly waiting = new Set<string>();
  /** What placement sees of the servers, by name, until a server or a replica comes or goes. */
  private views: PlacementServer[] | undefined;

  constructor(private readonly opts: SupervisorOptions) {}

  // ───────────────────────────── commands ─────────────────────────────

  /** LoadModel: creates the model, a new version (changed spec) or updates the latest in place. */
  loadModel(def: ModelDefinition): Changes {
    const name = def.meta.name;
    const existing = this.models.get(name);
    if (!existing || (existing.deleted && !this.isActive(existing))) {
      if (existing) this.forget(existing);
      const entry: ModelEntry = {
        name,
        deleted: false,
        deletedAt: 0,
        versions: [],
        retry: { attempts: 0, dueAt: 0 },
      };
      this.models.set(name, entry);
      this.addVersion(entry, Math.max(1, def.meta.kubernetesMeta?.generation ?? 0), def);
    } else if (existing.deleted) {
      throw failedPrecondition(
        `Model ${name} is in process of deletion - new model can not be created`,
        { model: name },
      );
    } else {
      const latest = latestOf(existing);
      if (!latest) throw internal(`model ${name} has no versions`);
      const diff = diffDefinitions(latest.definition, def);
      if (diff.spec && latest.version >= MAX_VERSION) {
        throw failedPrecondition(
          `Model ${name} is at version ${latest.version}, the highest a version can be: unload it ` +
            'and load it again to start from its generation',
          { model: name },
        );
      }
      if (diff.spec) {
        this.addVersion(existing, latest.version + 1, def);
      } else {
        const updated = { ...latest.definition };
        if (diff.deployment) updated.deployment = def.deployment ?? { ...DEFAULT_DEPLOYMENT };
        if (diff.meta) {
          const { kubernetesMeta } = def.meta;
          updated.meta = { ...updated.meta };
          if (kubernetesMeta) updated.meta.kubernetesMeta = kubernetesMeta;
          else delete updated.meta.kubernetesMeta;
        }
        latest.definition = updated;
        if (diff.meta || diff.deployment) this.changedModels.add(name);
      }
      if (existing.retry.attempts > 0 || existing.retry.dueAt > 0) {
        existing.retry = { attempts: 0, dueAt: 0 };
        this.changedModels.add(name);
      }
    }
    this.schedule(name);
    return this.finish();
  }

  /** UnloadModel: marks the model deleted and unloads every version. */
  unloadModel(name: string, kubernetesMeta?: { namespace: string; generation: number }): Changes {
    const m = this.models.get(name);
    if (!m) throw failedPrecondition(`Model ${name} not found`, { model: name });
    const latest = latestOf(m);
    if (kubernetesMeta && latest) {
      latest.definition = {
        ...latest.definition,
        meta: { ...latest.definition.meta, kubernetesMeta },
      };
    }
    if (!m.deleted) {
      m.deleted = true;
      m.deletedAt = this.opts.now();
    }
    this.changedModels.add(name);
    this.schedule(name);
    for (const v of m.versions) this.recompute(m, v);
    return this.finish();
  }

  /** ServerNotify: declares servers; a server scaled to 0 has its models moved elsewhere. */
  serverNotify(declarations: readonly ServerDeclaration[]): Changes {
    const at = this.opts.now();
    for (const d of declarations) {
      const s = this.serverEntry(d.name, d.shared);
      s.actor.send({ type: 'operator.declared', at, declaration: d });
      this.changedServers.add(d.name);
      if (d.expectedReplicas === 0) {
        for (const name of this.modelsOnServer(d.name)) this.schedule(name);
      }
    }
    this.capacityChanged = true;
    return this.finish();
  }

  /** An agent subscribed for one server replica, re-announcing what it has loaded. */
  replicaJoined(join: ReplicaJoin): Changes {
    const at = this.opts.now();
    // A replica seen before (a restored one, or a stream that ended unnoticed) starts afresh: what
    // its agent still holds comes back with the announcement below, without a reload. Retiring
    // versions' replicas stay on it (marked Unloaded unless announced).
    const previous = this.servers.get(join.server)?.replicas.get(join.idx);
    const dropped = previous
      ? this.dropServerReplica(join.server, join.idx, true, this.reannounced(join))
      : new Set<string>();
    const s = this.serverEntry(join.server, join.shared);
    const actor = Cell.of(serverReplicaMachine, {
      input: {
        server: join.server,
        idx: join.idx,
        config: join.config,
        availableMemoryBytes: join.availableMemoryBytes,
        at,
      },
    });
    const entry = new ServerReplicaEntry(actor, false, previous?.hosted);
    s.replicas.set(join.idx, entry);
    this.replicasChanged(s);
    s.actor.send({ type: 'agent.replicaJoined', at, shared: join.shared });
    this.changedServers.add(join.server);

    const announced = new Set<string>();
    for (const { definition, version } of join.loaded) {
      const name = definition.meta.name;
      let m = this.models.get(name);
      if (!m) {
        // A model known only from its agents (its record was lost): it is taken as announced.
        m = { name, deleted: false, deletedAt: 0, versions: [], retry: { attempts: 0, dueAt: 0 } };
        this.models.set(name, m);
        this.addVersion(m, version, definition);
      }
      const v = m.versions.find((x) => x.version === version);
      // A copy of another incarnation of the model, or of a version now placed on another server
      // (the agent came back late), is unloaded: a version lives on one server, as defined now.
      if (
        !v ||
        !sameSpec(v.definition, definition) ||
        (v.server !== join.server && this.placedOnItsServer(v))
      ) {
        entry.staleCopies.add(`${name}:${version}`);
        this.opts.agents.send(join.server, join.idx, {
          operation: 'unload',
          definition,
          version,
          autoscalingEnabled: false,
        });
        continue;
      }
      if (v.server !== join.server) this.moveVersion(m, v, join.server);
      const r = this.replicaEntry(m, v, join.idx);
      this.sendReplica(m, v, r, { type: 'agent.announced', at });
      announced.add(name);
    }
    for (const name of new Set([...dropped, ...announced])) this.schedule(name);
    this.capacityChanged = true;
    return this.finish();
  }

  /**
   * The replicas on a rejoining server replica that its agent re-announces as they are (the latest
   * version, same spec): they are kept, and the announcement makes them Loaded as it would a new
   * one, without replacing thousands of actors (and their versions' states) in one call.
   */
  private reannounced(join: ReplicaJoin): Set<ReplicaActor> {
    const keep = new Set<ReplicaActor>();
    for (const { definition, version } of join.loaded) {
      const m = this.models.get(definition.meta.name);
      const v = m && latestOf(m);
      const r = v?.server === join.server ? v.replicas.get(join.idx) : undefined;
      if (r && !m?.deleted && v?.version === version && sameSpec(v.definition, definition)) {
        keep.add(r);
      }
    }
    return keep;
  }

  /** An agent's Subscribe stream ended: its replica leaves and its models are placed again. */
  replicaLeft(server: string, idx: number): Changes {
    const affected = this.dropServerReplica(server, idx);
    for (const name of affected) this.schedule(name);
    this.capacityChanged = true;
    return this.finish();
  }

  /**
   * AgentDrain: the replica takes no new models and every model on it is placed elsewhere.
   * @returns the models that must become Available elsewhere before the drain is complete.
   */
  drain(server: string, idx: number): { changes: Changes; models: string[] } {
    const at = this.opts.now();
    const rep = this.servers.get(server)?.replicas.get(idx);
    if (!rep) return { changes: this.finish(), models: [] };
    rep.actor.send({ type: 'agent.drainRequested', at });
    this.changedServers.add(server);
    const models = new Set<string>();
    for (const r of [...rep.hosted]) {
      const { model, version } = r.getSnapshot().context;
      const m = this.models.get(model);
      const v = m?.versions.find((x) => x.version === version);
      if (m && v && this.sendReplica(m, v, r, { type: 'server.drain', at })) models.add(model);
    }
    for (const name of models) this.schedule(name);
    this.capacityChanged = true;
    return { changes: this.finish(), models: [...models] };
  }

  /**
   * An agent reported the outcome of an op.
   * @throws SchedulerError FailedPrecondition when the model, version, server or replica state does
   *   not match (a stale or misdirected report; the reference answers Internal).
   */
  agentEvent(report: AgentReport): Changes {
    const at = this.opts.now();
    const m = this.models.get(report.model);
    if (!m) throw failedPrecondition(`modelName: failed to find model ${report.model}`);
    const v = m.versions.find((x) => x.version === report.version);
    if (!v) {
      throw failedPrecondition(
        `modelVersion: Version not found for model ${report.model}, version ${report.version}`,
      );
    }
    const rep = this.servers.get(report.server)?.replicas.get(report.idx);
    if (!this.servers.has(report.server)) {
      throw failedPrecondition(`serverName: failed to find server ${report.server}`);
    }
    if (!rep) {
      throw failedPrecondition(
        `replicaIdx: server ${report.server} has no connected replica ${report.idx}`,
      );
    }
    // The agent's free memory is a fact whatever the state check below decides.
    rep.actor.send({
      type: 'agent.memoryReported',
      at,
      availableMemoryBytes: report.availableMemoryBytes,
    });
    this.changedServers.add(report.server);
    const copy = `${report.model}:${report.version}`;
    if (report.event === 'unloaded' && rep.staleCopies.delete(copy)) {
      this.capacityChanged = true;
      return this.finish();
    }
    const r = v.server === report.server ? v.replicas.get(report.idx) : undefined;
    const current: ReplicaState = r ? replicaStateOf(r.getSnapshot()) : 'unknown';
    const mismatch = (expected: ReplicaState, desired: ReplicaState) =>
      failedPrecondition(
        `event: State mismatch for ${report.model}:${report.version} expected state ${goName(expected)} but was ${goName(current)} when trying to move to state ${goName(desired)}`,
      );
    let event: ReplicaEvent;
    let expected: ReplicaState;
    let desired: ReplicaState;
    switch (report.event) {
      case 'loaded':
        event = { type: 'agent.loaded', at };
        [expected, desired] = ['loading', 'loaded'];
        break;
      case 'loadFailed':
        event = { type: 'agent.loadFailed', at, reason: report.message };
        [expected, desired] = ['loading', 'loadFailed'];
        break;
      case 'unloaded':
        event = { type: 'agent.unloaded', at };
        [expected, desired] = ['unloading', 'unloaded'];
        break;
      case 'unloadFailed':
        event = { type: 'agent.unloadFailed', at, reason: report.message };
        [expected, desired] = ['unloading', 'unloadFailed'];
        break;
      case 'other':
        if (r) throw mismatch('unknown', 'unknown');
        return this.finish();
    }
    if (!r || current !== expected) throw mismatch(expected, desired);
    this.sendReplica(m, v, r, event);
    if (report.event === 'loaded' && report.runtimeInfo && !v.definition.spec.runtimeInfo) {
      v.definition = {
        ...v.definition,
        spec: { ...v.definition.spec, runtimeInfo: report.runtimeInfo },
      };
      // The memory it needs may have changed (workers × memory): so has what its loads reserve.
      const bytes = requiredMemory(v.definition.spec);
      for (const [idx, rep] of v.replicas) {
        this.servers.get(v.server)?.replicas.get(idx)?.hosted.add(rep, bytes);
      }
    }
    if (report.event === 'loadFailed' && v === latestOf(m)) {
      m.retry.attempts++;
      m.retry.dueAt =
        at + Math.min(this.opts.retryMaxMs, this.opts.retryBaseMs * 2 ** (m.retry.attempts - 1));
    }
    if (report.event === 'loaded' && v === latestOf(m)) m.retry = { attempts: 0, dueAt: 0 };
    if (report.event !== 'loaded') this.capacityChanged = true;
    return this.finish();
  }

  /**
   * Time passed: retries models whose load-failure back-off is due and purges deleted models whose
   * TTL expired. @returns the next time something is due (ms since epoch), or undefined.
   */
  tick(): { changes: Changes; nextDueAt: number | undefined } {
    const now = this.opts.now();
    if (this.graceUntil > 0 && now >= this.graceUntil) {
      this.graceUntil = 0;
      // Agents that did not come back within the grace: their models are placed elsewhere.
      for (const [name, s] of [...this.servers]) {
        for (const [idx, rep] of [...s.replicas]) {
          if (!rep.awaitingAgent) continue;
          for (const model of this.dropServerReplica(name, idx)) this.schedule(model);
          this.capacityChanged = true;
        }
      }
    }
    for (const m of [...this.models.values()]) {
      if (m.deleted && !this.isActive(m) && now - m.deletedAt >= this.opts.deletedTtlMs) {
        this.forget(m);
        this.models.delete(m.name);
        this.changedModels.add(m.name);
        continue;
      }
      if (m.retry.dueAt > 0 && m.retry.dueAt <= now) {
        m.retry.dueAt = 0;
        this.changedModels.add(m.name);
        if (!m.deleted && this.latestState(m) === 'failed') this.schedule(m.name);
      }
    }
    return { changes: this.finish(), nextDueAt: this.nextDueAt() };
  }

  // ───────────────────────────── persistence ─────────────────────────────

  /** The model's persisted record, or undefined once it is gone. */
  exportModel(name: string): ModelRecord | undefined {
    const m = this.models.get(name);
    if (!m) return undefined;
    return {
      name,
      deleted: m.deleted,
      deletedAt: m.deletedAt,
      retry: { ...m.retry },
      versions: m.versions.map((v) => ({
        version: v.version,
        definition: v.definition,
        server: v.server,
        actor: v.actor.getPersistedSnapshot(),
        replicas: [...v.replicas].map(([idx, r]) => [idx, r.getPersistedSnapshot()]),
      })),
    };
  }

  /** The server's persisted record (expected config and replicas as last seen), or undefined. */
  exportServer(name: string): ServerRecord | undefined {
    const s = this.servers.get(name);
    if (!s) return undefined;
    return {
      name,
      actor: s.actor.getPersistedSnapshot(),
      replicas: [...s.replicas].map(([idx, rep]) => [idx, rep.actor.getPersistedSnapshot()]),
    };
  }

  /**
   * Rebuilds servers and models from their records (before any command). Restored replicas wait
   * `reconnectGraceMs` for their agents, which re-announce what they hold; the rest then move.
   */
  restore(servers: readonly ServerRecord[], models: readonly ModelRecord[]): void {
    for (const rec of servers) {
      const actor = Cell.of(serverMachine, {
        snapshot: rec.actor as Snapshot<unknown>,
      });
      const entry: ServerEntry = { actor, replicas: new Map() };
      for (const [idx, snap] of rec.replicas) {
        const rep = Cell.of(serverReplicaMachine, {
          snapshot: snap as Snapshot<unknown>,
        });
        entry.replicas.set(idx, new ServerReplicaEntry(rep, true));
        this.graceUntil = this.opts.now() + this.opts.reconnectGraceMs;
      }
      this.servers.set(rec.name, entry);
      this.replicasChanged(entry);
    }
    for (const rec of models) {
      const m: ModelEntry = {
        name: rec.name,
        deleted: rec.deleted,
        deletedAt: rec.deletedAt,
        versions: [],
        retry: { ...rec.retry },
      };
      for (const rv of rec.versions) {
        const v: VersionEntry = {
          version: rv.version,
          definition: rv.definition,
          server: rv.server,
          actor: Cell.of(modelVersionMachine, {
            snapshot: rv.actor as Snapshot<unknown>,
          }),
          replicas: new Map(),
        };
        for (const [idx, snap] of rv.replicas) {
          const r = Cell.of(replicaMachine, {
            snapshot: snap as Snapshot<unknown>,
          });
          v.replicas.set(idx, r);
          this.servers
            .get(rv.server)
            ?.replicas.get(idx)
            ?.hosted.add(r, requiredMemory(rv.definition.spec));
        }
        m.versions.push(v);
      }
      this.models.set(rec.name, m);
      this.reindex(rec.name);
    }
  }

  // ───────────────────────────── views ─────────────────────────────

  /** The named model, or undefined. */
  model(name: string, allVersions: boolean): ModelView | undefined {
    const m = this.models.get(name);
    return m ? this.viewModel(m, allVersions) : undefined;
  }

  /** Every model (deleted ones included), by name. */
  listModels(allVersions: boolean): ModelView[] {
    return [...this.models.values()]
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((m) => this.viewModel(m, allVersions));
  }

  /** The named server, or undefined. */
  server(name: string): ServerStatusView | undefined {
    const s = this.servers.get(name);
    return s ? this.viewServer(s) : undefined;
  }

  /** Every server, by name. */
  listServers(): ServerStatusView[] {
    return [...this.servers.values()]
      .sort((a, b) =>
        a.actor.getSnapshot().context.name < b.actor.getSnapshot().context.name ? -1 : 1,
      )
      .map((s) => this.viewServer(s));
  }

  /** True when the model's latest version has a replica Available on another server replica. */
  availableElsewhere(name: string, server: string, idx: number): boolean {
    const m = this.models.get(name);
    const latest = m && latestOf(m);
    if (!latest) return false;
    for (const [i, r] of latest.replicas) {
      if (
        replicaStateOf(r.getSnapshot()) === 'available' &&
        (latest.server !== server || i !== idx)
      ) {
        return true;
      }
    }
    return false;
  }

  /** Some version of the model is ModelAvailable (a pipeline step can run). */
  anyAvailable(name: string): boolean {
    const m = this.models.get(name);
    return m?.versions.some((v) => modelStateOf(v.actor.getSnapshot()) === 'available') ?? false;
  }

  /** The model's latest version is ModelAvailable (an experiment candidate is ready). */
  latestAvailable(name: string): boolean {
    return this.latestStateOf(name) === 'available';
  }

  /** Traffic can reach the model: a version is Available or the latest has an Available replica. */
  routable(name: string): boolean {
    const m = this.models.get(name);
    const latest = m && latestOf(m);
    return (
      this.anyAvailable(name) ||
      (latest !== undefined && latest.actor.getSnapshot().context.availableReplicas > 0)
    );
  }

  /** The latest version's state, for waiters. */
  latestStateOf(name: string): ModelState | undefined {
    const m = this.models.get(name);
    return m ? this.latestState(m) : undefined;
  }

  // ───────────────────────────── placement ─────────────────────────────

  /** One scheduling run for the model's latest version (or its unload when deleted). */
  private schedule(name: string): void {
    const m = this.models.get(name);
    const latest = m && latestOf(m);
    if (!m || !latest) return;
    this.scheduled.add(name);
    const at = this.opts.now();
    if (m.deleted) {
      for (const v of m.versions) {
        for (const r of v.replicas.values()) {
          const st = replicaStateOf(r.getSnapshot());
          if (isUnloadingOrUnloaded(st)) continue;
          const draining = st === 'draining';
          this.sendReplica(m, v, r, {
            type:
              v === latest && !draining
                ? 'placement.unloadEnvoyRequested'
                : 'placement.unloadRequested',
            at,
          });
        }
      }
      this.changedModels.add(name);
      return;
    }
    const deployment = latest.definition.deployment;
    const replicas = deployment?.replicas ?? 0;
    // After a restart, a version placed on replicas whose agents have not reconnected yet stays as
    // it is until they return or the grace ends (both place it again), unless it has too many.
    const rep = this.servers.get(latest.server)?.replicas;
    const placed = [...latest.replicas.values()].filter((r) => {
      const st = replicaStateOf(r.getSnapshot());
      return !isInactive(st) && !isUnloadingOrUnloaded(st);
    });
    if (
      placed.length <= replicas &&
      [...latest.replicas.keys()].some((idx) => rep?.get(idx)?.awaitingAgent)
    ) {
      this.recompute(m, latest);
      return;
    }
    const current: Record<number, ReplicaState> = {};
    for (const [idx, r] of latest.replicas) current[idx] = replicaStateOf(r.getSnapshot());
    const req: PlacementRequest = {
      requirements: latest.definition.spec.requirements,
      requiredMemory: requiredMemory(latest.definition.spec),
      server: latest.definition.spec.server,
      explainer: latest.definition.spec.explainer !== undefined,
      replicas,
      minReplicas: deployment?.minReplicas ?? 0,
      currentServer: latest.server,
      current,
    };
    const result = plan(req, this.placementView());
    // Seldon parity: a version already on a server that cannot get all its replicas asks for more.
    if ((!result.ok || result.partial) && latest.server !== '') this.considerScaleUp(latest.server);
    if (!result.ok) {
      // Whatever cannot be placed, no more replicas serve than wanted (a drained replica whose agent
      // came back announcing its copy would otherwise serve beside its replacement).
      this.unloadSurplus(m, latest, replicas, at);
      const states = [...latest.replicas.values()].map((r) => replicaStateOf(r.getSnapshot()));
      let assigned = states.filter(
        (s) => s === 'loaded' || s === 'available' || s === 'loadedUnavailable',
      ).length;
      if (assigned === 0) assigned = states.filter((s) => s === 'draining').length;
      // Several draining replicas may still serve one wanted replica: never report more than wanted.
      assigned = Math.min(assigned, replicas);
      latest.actor.send({
        type: 'placement.failed',
        at,
        reason: result.reason,
        availableReplicas: assigned,
        unavailableReplicas: Math.max(0, replicas - assigned),
      });
      // With nothing left on its server, the version may later be placed anywhere without a new
      // version number. Replicas still busy (loading, unloading) keep it where it is.
      if (states.every(isInactive)) this.resetServer(m, latest);
      this.changedModels.add(name);
      return;
    }
    let target = latest;
    if (latest.server !== '' && latest.server !== result.server) {
      // Seldon parity: moving to another server makes a new version; the old one serves until then.
      target = this.addVersion(m, latest.version + 1, latest.definition);
    }
    this.moveVersion(m, target, result.server);
    const chosen = new Set(result.replicaIdxs);
    let changed = false;
    for (const idx of result.replicaIdxs) {
      const r = this.replicaEntry(m, target, idx);
      const st = replicaStateOf(r.getSnapshot());
      if (!isLoadedish(st) && st !== 'draining') {
        changed =
          this.sendReplica(m, target, r, { type: 'placement.loadRequested', at }) || changed;
      }
    }
    for (const [idx, r] of target.replicas) {
      if (chosen.has(idx)) continue;
      const st = replicaStateOf(r.getSnapshot());
      if (!isUnloadingOrUnloaded(st) && st !== 'draining') {
        changed =
          this.sendReplica(m, target, r, { type: 'placement.unloadEnvoyRequested', at }) || changed;
      }
    }
    // Its state is derived once the command has settled its replicas (see settleModel).
    if (
      changed ||
      modelStateOf(target.actor.getSnapshot()) === 'scheduleFailed' ||
      result.partial
    ) {
      this.dirty.add(target);
      this.changedModels.add(m.name);
    }
  }

  /**
   * Unloads the version's loaded replicas beyond `wanted`, keeping those on replicas that are not
   * draining first, then the lowest replica indices.
   */
  private unloadSurplus(m: ModelEntry, v: VersionEntry, wanted: number, at: number): void {
    const draining = (idx: number) =>
      this.servers.get(v.server)?.replicas.get(idx)?.actor.getSnapshot().hasTag('draining') ??
      false;
    const loaded = [...v.replicas]
      .filter(([, r]) => {
        const st = replicaStateOf(r.getSnapshot());
        return st === 'loaded' || st === 'available' || st === 'loadedUnavailable';
      })
      .sort(([a], [b]) => Number(draining(a)) - Number(draining(b)) || a - b);
    for (const [, r] of loaded.slice(wanted)) {
      this.sendReplica(m, v, r, { type: 'placement.unloadEnvoyRequested', at });
    }
  }

  /**
   * Asks for more replicas of a server when its models want more than it has (Seldon parity:
   * scheduler/pkg/server/utils.go shouldScaleUp): up to the most replicas any of its models wants,
   * capped by its maxReplicas. Only servers declared by ServerNotify are scaled.
   */
  private considerScaleUp(server: string): void {
    const ctx = this.servers.get(server)?.actor.getSnapshot().context;
    if (!ctx || ctx.expectedReplicas < 0 || ctx.maxReplicas < 1) return;
    let wanted = 0;
    for (const m of this.models.values()) {
      const latest = latestOf(m);
      if (latest?.server === server) {
        wanted = Math.max(wanted, latest.definition.deployment?.replicas ?? 0);
      }
    }
    if (wanted > ctx.expectedReplicas) this.scaling.set(server, Math.min(wanted, ctx.maxReplicas));
  }

  /**
   * Asks for fewer replicas of a server when some of them hold nothing (Seldon parity:
   * shouldScaleDown, without packing): never below max(1, minReplicas).
   */
  private considerScaleDown(server: string): void {
    const s = this.servers.get(server);
    const ctx = s?.actor.getSnapshot().context;
    if (!s || !ctx || ctx.expectedReplicas <= 1) return;
    let empty = 0;
    for (const rep of s.replicas.values()) if (!rep.hosted.isBusy()) empty++;
    const target = Math.max(1, ctx.minReplicas, ctx.expectedReplicas - empty);
    if (empty > 0 && target < ctx.expectedReplicas) this.scaling.set(server, target);
  }

  /** Retries models waiting for capacity: ScheduleFailed, or fewer replicas than desired. */
  private retryWaiting(): void {
    // The index is as of the last finish: what changed since is looked at too.
    for (const name of [...this.waiting, ...this.changedModels]) {
      if (!this.scheduled.has(name) && this.isWaiting(name)) this.schedule(name);
    }
  }

  /**
   * Whether the model waits for capacity: its latest version could not be placed, or has fewer
   * replicas than it wants.
   */
  private isWaiting(name: string): boolean {
    const m = this.models.get(name);
    const latest = m && !m.deleted ? latestOf(m) : undefined;
    if (!latest) return false;
    const snap = latest.actor.getSnapshot();
    const st = modelStateOf(snap);
    const want = latest.definition.deployment?.replicas ?? 0;
    return (
      st === 'scheduleFailed' ||
      ((st === 'available' || st === 'progressing') &&
        snap.context.availableReplicas + snap.context.unavailableReplicas < want)
    );
  }

  /** Brings the indexes kept for speed up to date for a model that changed (or was restored). */
  private reindex(name: string): void {
    this.dues.set(name, this.dueOf(name));
    if (this.isWaiting(name)) this.waiting.add(name);
    else this.waiting.delete(name);
  }

  /**
   * What placement sees: the servers by name, each with the replicas whose agents are connected.
   * Kept until a server or replica comes or goes; what changes in between (memory, reservations,
   * draining, declarations) is read from the actors when placement asks.
   */
  private placementView(): readonly PlacementServer[] {
    this.views ??= [...this.servers.values()]
      .map((s) => (s.view ??= placementServer(s)))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
    return this.views;
  }

  /** A replica of the server joined or left (or the server itself came or went). */
  private replicasChanged(s: ServerEntry): void {
    s.view = undefined;
    this.views = undefined;
  }

  // ───────────────────────────── settling ─────────────────────────────

  /**
   * Drives every changed model to a fixed point (routing, agent ops, state derivation, retirement of
   * old versions), retries waiting models when capacity changed, and reports what changed.
   */
  /** Settles and reports what changed so far (after a refused command that recorded facts first). */
  flush(): Changes {
    return this.finish();
  }

  private finish(): Changes {
    const seen = new Set<string>();
    let guard = 0;
    for (;;) {
      const pending = [...this.changedModels].filter((n) => !seen.has(n));
      if (this.capacityChanged) {
        this.capacityChanged = false;
        this.retryWaiting();
        continue;
      }
      if (pending.length === 0) break;
      if (++guard > 10_000) throw internal('supervisor did not settle');
      for (const name of pending) {
        seen.add(name);
        const m = this.models.get(name);
        if (m) this.settleModel(m, seen);
      }
    }
    for (const name of this.changedModels) this.reindex(name);
    const changes: Changes = {
      models: [...this.changedModels],
      servers: [...this.changedServers],
      scaling: [...this.scaling].map(([server, expectedReplicas]) => ({
        server,
        expectedReplicas,
      })),
      pipelines: [],
      experiments: [],
    };
    this.scaling = new Map();
    this.changedModels = new Set();
    this.changedServers = new Set();
    this.scheduled = new Set();
    return changes;
  }

  /** Runs routing, agent sync, derivation and retirement for one model until nothing moves. */
  private settleModel(m: ModelEntry, seen: Set<string>): void {
    const at = this.opts.now();
    for (let moved = true, rounds = 0; moved; rounds++) {
      if (rounds > 1000) throw internal(`model ${m.name} did not settle`);
      moved = false;
      const latest = latestOf(m);
      for (const v of m.versions) {
        for (const [idx, r] of v.replicas) {
          const st = replicaStateOf(r.getSnapshot());
          let event: ReplicaEvent | undefined;
          if ((st === 'loaded' || st === 'loadedUnavailable') && v === latest && !m.deleted) {
            event = { type: 'routing.ready', at };
          } else if (st === 'unloadEnvoyRequested') {
            event = { type: 'routing.removed', at };
          } else if (st === 'loadRequested' && v === latest && this.canTakeLoad(v.server, idx)) {
            const error = this.sendOp('load', v, idx);
            event =
              error === undefined
                ? { type: 'agent.loadSent', at }
                : { type: 'agent.loadSendFailed', at, reason: error };
          } else if (st === 'unloadRequested') {
            // A replica whose agent is gone has nothing left to unload.
            const error = this.opts.agents.isConnected(v.server, idx)
              ? this.sendOp('unload', v, idx)
              : null;
            event =
              error === null
                ? { type: 'server.replicaGone', at }
                : error === undefined
                  ? { type: 'agent.unloadSent', at }
                  : { type: 'agent.unloadSendFailed', at, reason: error };
          }
          if (event) moved = this.sendReplica(m, v, r, event) || moved;
        }
      }
      for (const v of m.versions) {
        if (this.dirty.delete(v)) this.recompute(m, v);
      }
      // Retire old versions once the latest is Available (Seldon parity: cleaner/versions.go).
      // Until then the last Available one keeps serving; unlike Seldon, versions between it and
      // the latest, which never served, are unloaded at once: at most two versions hold replicas.
      if (latest && !m.deleted) {
        const serving =
          modelStateOf(latest.actor.getSnapshot()) === 'available'
            ? undefined
            : m.versions.findLast(
                (v) => v !== latest && modelStateOf(v.actor.getSnapshot()) === 'available',
              );
        for (const v of m.versions) {
          if (v === latest || v === serving) continue;
          for (const r of v.replicas.values()) {
            const st = replicaStateOf(r.getSnapshot());
            if (!isUnloadingOrUnloaded(st) && st !== 'unloadFailed' && st !== 'loadFailed') {
              moved = this.sendReplica(m, v, r, { type: 'placement.unloadRequested', at }) || moved;
            }
          }
        }
      }
    }
    seen.add(m.name);
  }

  /** Writes a load or unload op for the version to the replica's agent; returns an error text. */
  private sendOp(operation: 'load' | 'unload', v: VersionEntry, idx: number): string | undefined {
    return this.opts.agents.send(v.server, idx, {
      operation,
      definition: v.definition,
      version: v.version,
      autoscalingEnabled: false,
    });
  }

  private canTakeLoad(server: string, idx: number): boolean {
    const rep = this.servers.get(server)?.replicas.get(idx);
    return (
      !!rep &&
      !rep.actor.getSnapshot().hasTag('draining') &&
      this.opts.agents.isConnected(server, idx)
    );
  }

  /** Sends the version a fresh view of its replicas so its state follows them. */
  private recompute(m: ModelEntry, v: VersionEntry): void {
    this.dirty.delete(v);
    const latest = latestOf(m);
    const before = v.actor.getSnapshot();
    if (before.status !== 'active') return;
    const facts = [...v.replicas.values()].map((r) => {
      const s = r.getSnapshot();
      return { state: replicaStateOf(s), reason: s.context.reason, at: s.context.at };
    });
    if (facts.length === 0 && modelStateOf(before) === 'unknown' && !m.deleted && v === latest)
      return;
    if (
      facts.length === 0 &&
      modelStateOf(before) === 'scheduleFailed' &&
      !m.deleted &&
      v === latest
    )
      return;
    v.actor.send({
      type: 'replicas.changed',
      at: this.opts.now(),
      summary: summarizeReplicas(facts),
      retiring: m.deleted || v !== latest,
      replicas: v.definition.deployment?.replicas,
      minReplicas: v.definition.deployment?.minReplicas ?? 0,
      otherVersionAvailable: m.versions.some(
        (o) => o !== v && modelStateOf(o.actor.getSnapshot()) === 'available',
      ),
    });
    const after = v.actor.getSnapshot();
    if (after.value !== before.value || after.context !== before.context)
      this.changedModels.add(m.name);
  }

  // ───────────────────────────── bookkeeping ─────────────────────────────

  /**
   * Sends a replica event; returns whether its state changed. An event the replica does not take
   * leaves its snapshot as it was (the same object), which costs one lookup of its transitions.
   */
  private sendReplica(
    m: ModelEntry,
    v: VersionEntry,
    r: ReplicaActor,
    event: ReplicaEvent,
  ): boolean {
    const before = r.getSnapshot();
    r.send(event);
    const after = r.getSnapshot();
    if (after === before) return false;
    this.servers.get(after.context.server)?.replicas.get(after.context.idx)?.hosted.update(r);
    if (after.value === before.value) return false;
    this.changedModels.add(m.name);
    this.changedServers.add(after.context.server);
    this.dirty.add(v);
    if (after.value === 'unloaded' || after.value === 'loadFailed') {
      this.considerScaleDown(after.context.server);
    }
    return true;
  }

  private addVersion(m: ModelEntry, version: number, definition: ModelDefinition): VersionEntry {
    const v: VersionEntry = {
      version,
      definition,
      server: '',
      actor: Cell.of(modelVersionMachine, { input: { model: m.name, version } }),
      replicas: new Map(),
    };
    m.versions = [...m.versions.filter((x) => x.version !== version), v].sort(
      (a, b) => a.version - b.version,
    );
    this.changedModels.add(m.name);
    // Older versions keep their state (and serve) until their replicas move; empty ones retire now.
    for (const o of m.versions) if (o !== v && o.replicas.size === 0) this.recompute(m, o);
    return v;
  }

  /** Records the version's server; replica entries left on another server are dropped. */
  private moveVersion(m: ModelEntry, v: VersionEntry, server: string): void {
    if (v.server === server) return;
    for (const idx of [...v.replicas.keys()]) this.removeReplica(v, idx);
    v.server = server;
    this.changedModels.add(m.name);
  }

  /** Some replica of the version on its own server holds the model or is about to. */
  private placedOnItsServer(v: VersionEntry): boolean {
    return [...v.replicas.values()].some((r) => {
      const snap = r.getSnapshot();
      return snap.context.holdsModel || snap.context.loadInFlight || !isInactive(snap.value);
    });
  }

  private resetServer(m: ModelEntry, v: VersionEntry): void {
    if (v.server === '') return;
    this.moveVersion(m, v, '');
  }

  private replicaEntry(m: ModelEntry, v: VersionEntry, idx: number): ReplicaActor {
    let r = v.replicas.get(idx);
    if (!r) {
      r = Cell.of(replicaMachine, {
        input: { model: m.name, version: v.version, server: v.server, idx },
      });
      v.replicas.set(idx, r);
    }
    // An entry kept from before its server replica left (Unloaded) is hosted again when it rejoins.
    this.servers.get(v.server)?.replicas.get(idx)?.hosted.add(r, requiredMemory(v.definition.spec));
    return r;
  }

  private removeReplica(v: VersionEntry, idx: number): void {
    const r = v.replicas.get(idx);
    if (!r) return;
    this.servers.get(v.server)?.replicas.get(idx)?.hosted.delete(r);
    r.stop();
    v.replicas.delete(idx);
    this.dirty.add(v);
  }

  private serverEntry(name: string, shared: boolean): ServerEntry {
    let s = this.servers.get(name);
    if (!s) {
      const actor = Cell.of(serverMachine, {
        input: { name, shared, at: this.opts.now() },
      });
      s = { actor, replicas: new Map() };
      this.servers.set(name, s);
      this.replicasChanged(s);
    }
    return s;
  }

  /**
   * Removes a server replica; its model replicas are dropped (latest versions of live models, to be
   * placed again) or marked Unloaded (retiring versions), except those in `keep` (a rejoining
   * replica's re-announced ones). @returns the models to place again.
   */
  private dropServerReplica(
    server: string,
    idx: number,
    rejoining = false,
    keep: ReadonlySet<ReplicaActor> = new Set(),
  ): Set<string> {
    const at = this.opts.now();
    const s = this.servers.get(server);
    const rep = s?.replicas.get(idx);
    const affected = new Set<string>();
    if (!s || !rep) return affected;
    for (const r of [...rep.hosted]) {
      if (keep.has(r)) continue;
      const { model, version } = r.getSnapshot().context;
      const m = this.models.get(model);
      const v = m?.versions.find((x) => x.version === version);
      if (!m || !v) continue;
      if (m.deleted || v !== latestOf(m)) {
        this.sendReplica(m, v, r, { type: 'server.replicaGone', at });
      } else {
        this.removeReplica(v, idx);
        this.changedModels.add(model);
        this.recompute(m, v);
        affected.add(model);
      }
    }
    rep.actor.stop();
    s.replicas.delete(idx);
    this.replicasChanged(s);
    this.changedServers.add(server);
    // A replica that rejoins is replaced at once: its server never lost it.
    if (rejoining) return affected;
    s.actor.send({ type: 'agent.replicaLeft', at, remaining: s.replicas.size });
    if (s.replicas.size === 0) {
      s.actor.stop();
      this.servers.delete(server);
    }
    return affected;
  }

  private modelsOnServer(server: string): string[] {
    const names = new Set<string>();
    for (const rep of this.servers.get(server)?.replicas.values() ?? []) {
      for (const r of rep.hosted) names.add(r.getSnapshot().context.model);
    }
    return [...names];
  }

  /**
   * A model is active while any of its versions still has a replica that is not inactive. (Seldon
   * looks at the latest version only, and so can forget an old version whose unload is in flight.)
   */
  private isActive(m: ModelEntry): boolean {
    return m.versions.some((v) =>
      [...v.replicas.values()].some((r) => !isInactive(replicaStateOf(r.getSnapshot()))),
    );
  }

  private forget(m: ModelEntry): void {
    for (const v of m.versions) {
      for (const idx of [...v.replicas.keys()]) this.removeReplica(v, idx);
      v.actor.stop();
    }
  }

  private latestState(m: ModelEntry): ModelState | undefined {
    const latest = latestOf(m);
    return latest && modelStateOf(latest.actor.getSnapshot());
  }

  /** When the next retry or purge is due (ms since epoch), or undefined. */
  nextDueAt(): number | undefined {
    const next = this.dues.next();
    if (this.graceUntil <= 0) return next;
    return next === undefined ? this.graceUntil : Math.min(next, this.graceUntil);
  }

  /** When the model's purge (deleted, nothing left) or load retry is due, or undefined. */
  private dueOf(name: string): number | undefined {
    const m = this.models.get(name);
    if (!m) return undefined;
    if (m.deleted) return this.isActive(m) ? undefined : m.deletedAt + this.opts.deletedTtlMs;
    return m.retry.dueAt > 0 ? m.retry.dueAt : undefined;
  }

  /**
   * Where the indexes kept for speed (reserved memory and occupancy per server replica, due times,
   * models waiting for capacity) disagree with what they index, recomputed the slow way; empty when they agree. For tests.
   */
  audit(): string[] {
    const found: string[] = [];
    for (const [server, s] of this.servers) {
      for (const [idx, rep] of s.replicas) {
        let reserved = 0;
        let busy = false;
        const held = new Set<string>();
        for (const r of rep.hosted) {
          const snap = r.getSnapshot();
          if (snap.context.holdsModel) held.add(snap.context.model);
          const reserves = reservesMemory(replicaStateOf(snap));
          busy ||= reserves || snap.context.holdsModel;
          if (!reserves && !snap.context.loadInFlight) continue;
          const v = this.models
            .get(snap.context.model)
            ?.versions.find((x) => x.version === snap.context.version);
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
    const fresh = [...this.servers.values()]
      .map(placementServer)
      .sort((a, b) => (a.name < b.name ? -1 : 1));
    if (shape(fresh) !== shape(this.placementView())) {
      found.push(`placement sees ${shape(this.placementView())}, should see ${shape(fresh)}`);
    }
    let due: number | undefined = this.graceUntil > 0 ? this.graceUntil : undefined;
    for (const name of this.models.keys()) {
      const d = this.dueOf(name);
      if (d !== undefined && (due === undefined || d < due)) due = d;
    }
    if (due !== this.nextDueAt()) found.push(`next due ${this.nextDueAt()}, should be ${due}`);
    const waiting = [...this.models.keys()].filter((name) => this.isWaiting(name)).sort();
    if (waiting.join() !== [...this.waiting].sort().join()) {
      found.push(`waiting ${[...this.waiting].sort().join()}, should be ${waiting.join()}`);
    }
    return found;
  }

  private viewModel(m: ModelEntry, allVersions: boolean): ModelView {
    const versions = allVersions ? m.versions : m.versions.slice(-1);
    return { name: m.name, deleted: m.deleted, versions: versions.map((v) => this.viewVersion(v)) };
  }

  private viewVersion(v: VersionEntry): VersionView {
    const snap = v.actor.getSnapshot();
    return {
      version: v.version,
      server: v.server,
      definition: v.definition,
      state: modelStateOf(snap),
      reason: snap.context.reason,
      availableReplicas: snap.context.availableReplicas,
      unavailableReplicas: snap.context.unavailableReplicas,
      at: snap.context.at,
      replicas: [...v.replicas.entries()]
        .sort(([a], [b]) => a - b)
        .map(([idx, r]) => {
          const s = r.getSnapshot();
          return { idx, state: replicaStateOf(s), reason: s.context.reason, at: s.context.at };
        }),
    };
  }

  private viewServer(s: ServerEntry): ServerStatusView {
    const ctx = s.actor.getSnapshot().context;
    const replicas = [...s.replicas.values()]
      .map((rep) => {
        const snap = rep.actor.getSnapshot();
        return {
          idx: snap.context.idx,
          totalMemoryBytes: snap.context.config.memoryBytes,
          availableMemoryBytes: snap.context.availableMemoryBytes,
          reservedMemoryBytes: rep.hosted.reservedBytes(),
          numLoadedModels: rep.hosted.heldModelCount(),
          overCommitPercentage: snap.context.config.overCommitPercentage,
          draining: snap.hasTag('draining'),
        };
      })
      .sort((a, b) => a.idx - b.idx);
    return {
      name: ctx.name,
      state: s.actor.getSnapshot().value,
      expectedReplicas: ctx.expectedReplicas,
      minReplicas: ctx.minReplicas,
      maxReplicas: ctx.maxReplicas,
      shared: ctx.shared,
      ...(ctx.kubernetesMeta ? { kubernetesMeta: ctx.kubernetesMeta } : {}),
      replicas,
    };
  }
}

/** Placement's view of a server: its declaration read live, its connected replicas as of now. */
function placementServer(s: ServerEntry): PlacementServer {
  const ctx = () => s.actor.getSnapshot().context;
  return {
    name: ctx().name,
    get shared() {
      return ctx().shared;
    },
    get expectedReplicas() {
      return ctx().expectedReplicas;
    },
    replicas: [...s.replicas.values()].filter((rep) => !rep.awaitingAgent),
  };
}

/** Seldon's Go names of replica states, used in its error texts. */
function goName(s: ReplicaState): string {
  return s === 'unknown' ? 'ModelReplicaStateUnknown' : s.charAt(0).toUpperCase() + s.slice(1);
}
