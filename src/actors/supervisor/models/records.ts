// Persistence of models and servers: their records, and the state rebuilt from them.
import type { Snapshot } from 'xstate';
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

/** The model's persisted record, or undefined once it is gone. */
export function exportModel(s: Models, name: string): ModelRecord | undefined {
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
      actor: v.actor.getPersistedSnapshot(),
      replicas: [...v.replicas].map(([idx, r]) => [idx, r.getPersistedSnapshot()]),
    })),
  };
}

/** The server's persisted record (expected config and replicas as last seen), or undefined. */
export function exportServer(s: Models, name: string): ServerRecord | undefined {
  const server = s.servers.get(name);
  if (!server) return undefined;
  return {
    name,
    actor: server.actor.getPersistedSnapshot(),
    replicas: [...server.replicas].map(([idx, rep]) => [idx, rep.actor.getPersistedSnapshot()]),
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
): void {
  for (const rec of servers) {
    const actor = Cell.of(serverMachine, {
      snapshot: rec.actor as Snapshot<unknown>,
    });
    const entry: ServerEntry = { actor, replicas: new Map() };
    for (const [idx, snap] of rec.replicas) {
      const rep = Cell.of(serverReplicaMachine, {
        snapshot: snap as Snapshot<unknown>,
      });
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
