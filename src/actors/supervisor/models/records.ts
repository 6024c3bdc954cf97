// Persistence of models and servers: their records, and the state rebuilt from them.
import type { AnyStateMachine, Snapshot } from 'xstate';
import { Cell } from '../../cell.js';
import { requiredMemory, type ModelDefinition } from '../../../domain/model.js';
import { modelVersionMachine } from '../../model/model.machine.js';
import { replicaMachine } from '../../replica/replica.machine.js';
import { serverMachine } from '../../server/server.machine.js';
import { serverReplicaMachine } from '../../server/server-replica.machine.js';
import { reindex } from './scheduling.js';
import {
  replicasChanged,
  ServerReplicaEntry,
  type ModelEntry,
  type Models,
  type ServerEntry,
  type VersionEntry,
} from './state.js';

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

/**
 * How a record holds each actor: its persisted snapshot (the store's), or, for a copy of the state
 * within the process (a plan's), the actor itself, which {@link copyOf} then copies.
 */
export interface ActorCodec {
  save(cell: Cell<AnyStateMachine>): unknown;
  revive<M extends AnyStateMachine>(machine: M, saved: unknown): Cell<M>;
}

export const persisted: ActorCodec = {
  save: (cell) => cell.getPersistedSnapshot(),
  revive: (machine, saved) => Cell.of(machine, { snapshot: saved as Snapshot<unknown> }),
};

/** Records that hold the actors themselves, rebuilt into copies (no persistence, no JSON). */
export const copyOf: ActorCodec = {
  save: (cell) => cell,
  revive: <M extends AnyStateMachine>(_machine: M, saved: unknown) => (saved as Cell<M>).copy(),
};

/** The model's persisted record, or undefined once it is gone. */
export function exportModel(
  s: Models,
  name: string,
  codec: ActorCodec = persisted,
): ModelRecord | undefined {
  const m = s.models.get(name);
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
      actor: codec.save(v.actor),
      replicas: [...v.replicas].map(([idx, r]) => [idx, codec.save(r)]),
    })),
  };
}

/** The server's persisted record (expected config and replicas as last seen), or undefined. */
export function exportServer(
  s: Models,
  name: string,
  codec: ActorCodec = persisted,
): ServerRecord | undefined {
  const server = s.servers.get(name);
  if (!server) return undefined;
  return {
    name,
    actor: codec.save(server.actor),
    replicas: [...server.replicas].map(([idx, rep]) => [idx, codec.save(rep.actor)]),
  };
}

/**
 * Rebuilds servers and models from their records (before any command). Restored replicas wait
 * `reconnectGraceMs` for their agents, which re-announce what they hold; the rest then move. A
 * copy of a running scheduler's state (a plan's) says which replicas still wait: `awaitingAgent`.
 */
export function restoreModels(
  s: Models,
  servers: readonly ServerRecord[],
  models: readonly ModelRecord[],
  awaitingAgent: (server: string, idx: number) => boolean = () => true,
  codec: ActorCodec = persisted,
): void {
  for (const rec of servers) {
    const actor = codec.revive(serverMachine, rec.actor);
    const entry: ServerEntry = { actor, replicas: new Map() };
    for (const [idx, snap] of rec.replicas) {
      const rep = codec.revive(serverReplicaMachine, snap);
      const awaiting = awaitingAgent(rec.name, idx);
      entry.replicas.set(idx, new ServerReplicaEntry(rep, awaiting));
      if (awaiting) s.grace.start(s.opts.now(), s.opts.reconnectGraceMs);
    }
    s.servers.set(rec.name, entry);
    replicasChanged(s, entry);
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
        actor: codec.revive(modelVersionMachine, rv.actor),
        replicas: new Map(),
      };
      for (const [idx, snap] of rv.replicas) {
        const r = codec.revive(replicaMachine, snap);
        v.replicas.set(idx, r);
        s.servers
          .get(rv.server)
          ?.replicas.get(idx)
          ?.hosted.add(r, requiredMemory(rv.definition.spec));
      }
      m.versions.push(v);
    }
    s.models.set(rec.name, m);
    reindex(s, rec.name);
  }
}
