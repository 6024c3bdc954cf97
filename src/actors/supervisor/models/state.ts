import type { ModelDefinition } from '../../../domain/model.js';
import { plan } from '../../../placement/plan.js';
import type {
  PlacementRequest,
  PlacementResult,
  PlacementReplica,
  PlacementServer,
} from '../../../placement/types.js';
import type { Cell } from '../../cell.js';
import type { AgentGateway } from '../../gateways.js';
import type { modelVersionMachine } from '../../model/model.machine.js';
import type { replicaMachine } from '../../replica/replica.machine.js';
import type { serverMachine } from '../../server/server.machine.js';
import type { serverReplicaMachine } from '../../server/server-replica.machine.js';
import { ChangeSet } from '../changes.js';
import { DueTimes, Grace } from '../due-times.js';
import { HostedReplicas } from '../hosted.js';

export type ReplicaActor = Cell<typeof replicaMachine>;
type VersionActor = Cell<typeof modelVersionMachine>;

export interface VersionEntry {
  readonly version: number;
  definition: ModelDefinition;
  /** The server this version is placed on; '' when unplaced or reset after a failure. */
  server: string;
  readonly actor: VersionActor;
  /** Replicas of this version by replica index (all on `server`). */
  readonly replicas: Map<number, ReplicaActor>;
}

export interface ModelEntry {
  readonly name: string;
  deleted: boolean;
  deletedAt: number;
  /** Ascending by version number; the last one is the latest. */
  versions: VersionEntry[];
  /** Back-off of retries after agent load failures. */
  retry: { attempts: number; dueAt: number };
}

/** One server replica; what placement sees of it is read from its actor when placement asks. */
export class ServerReplicaEntry implements PlacementReplica {
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
    return this.actor.context.idx;
  }
  get capabilities(): readonly string[] {
    return this.actor.context.config.capabilities;
  }
  get availableMemory(): number {
    return this.actor.context.availableMemoryBytes;
  }
  get reservedMemory(): number {
    return this.hosted.reservedBytes();
  }
  get draining(): boolean {
    return this.actor.hasTag('draining');
  }
}

export interface ServerEntry {
  readonly actor: Cell<typeof serverMachine>;
  readonly replicas: Map<number, ServerReplicaEntry>;
  /** What placement sees of it, until a replica joins or leaves (see placementView). */
  view?: PlacementServer | undefined;
}

export interface ModelsOptions {
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

/**
 * The placement of models on servers: one actor per model version, model replica, server and server
 * replica, and the indexes kept for speed. The modules of this folder are its only writers, within
 * the supervisor's commands; each command runs to completion (no awaits) and leaves the world
 * settled: routing promoted, agent ops sent, states derived, old versions retired.
 */
export class Models {
  readonly models = new Map<string, ModelEntry>();
  readonly servers = new Map<string, ServerEntry>();
  readonly changes = new ChangeSet();
  /** Capacity was freed or added during the command: models waiting for it are retried. */
  capacityChanged = false;
  /** Versions whose replicas changed since their state was last derived. */
  readonly dirty = new Set<VersionEntry>();
  /** Models placed during the current command (not retried again by it). */
  readonly scheduled = new Set<string>();
  /** Restored replicas waiting for their agents. */
  readonly grace = new Grace();
  /** When each model's retry or purge is due, kept up to date for every changed model. */
  readonly dues = new DueTimes<string>();
  /** Models waiting for capacity (see isWaiting), so that freed capacity need not walk all. */
  readonly waiting = new Set<string>();
  /** What placement sees of the servers, by name, until a server or a replica comes or goes. */
  views: PlacementServer[] | undefined;
  /**
   * Placement itself, which a plan's copy of the state replaces by placement observed (the same
   * decision, explained: see explain.ts).
   */
  place: (
    model: string,
    req: PlacementRequest,
    servers: readonly PlacementServer[],
  ) => PlacementResult = (_model, req, servers) => plan(req, servers);

  constructor(readonly opts: ModelsOptions) {}
}

export const latestOf = (m: ModelEntry): VersionEntry | undefined =>
  m.versions[m.versions.length - 1];

/** A replica of the server joined or left (or the server itself came or went). */
export function replicasChanged(s: Models, server: ServerEntry): void {
  server.view = undefined;
  s.views = undefined;
}
