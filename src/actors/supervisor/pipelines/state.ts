import type { ExperimentDefinition } from '../../../domain/experiment.js';
import type { PipelineDefinition, PipelineState } from '../../../domain/pipeline.js';
import type { Cell } from '../../cell.js';
import type { experimentMachine } from '../../experiment/experiment.machine.js';
import type { DataflowGateway } from '../../gateways.js';
import { pipelineStateOf, type pipelineVersionMachine } from '../../pipeline/pipeline.machine.js';
import { ChangeSet } from '../changes.js';
import { Grace } from '../due-times.js';

/** What pipelines and experiments need to know about models. */
export interface ModelReadiness {
  /** Some version of the model is ModelAvailable. */
  anyAvailable(name: string): boolean;
  /** The model's latest version is ModelAvailable. */
  latestAvailable(name: string): boolean;
  /** Traffic can reach it: a version is Available or the latest version has an available replica. */
  routable(name: string): boolean;
}

export interface PipelinesOptions {
  dataflow: DataflowGateway;
  models: ModelReadiness;
  now: () => number;
  newUid: () => string;
  /** How long deleted pipelines and stopped experiments stay listed (ms). */
  deletedTtlMs: number;
  /** Delay before a failed latest version is offered to the engines again (Seldon: 1 min). */
  retryFailedMs: number;
  /** Most retries of a failed version (Seldon: 10). */
  maxFailedRetries: number;
  /** After a restart, how long restored pipelines wait for an engine before it counts as gone (ms). */
  reconnectGraceMs: number;
}

export const NO_ENGINES = 'no dataflow engines available to handle pipeline';
export const REBALANCE = 'Rebalance';

export type EngineAnswer = { ok: true } | { ok: false; reason: string } | undefined;

/** One send to a set of engines; their answers are counted against its timestamp. */
export interface Iteration {
  readonly kind: 'create' | 'delete';
  readonly timestamp: number;
  /** Each engine asked, with its answer (undefined while it has not answered). */
  readonly engines: Map<string, EngineAnswer>;
}

export interface VersionEntry {
  readonly version: number;
  readonly uid: string;
  definition: PipelineDefinition;
  readonly actor: Cell<typeof pipelineVersionMachine>;
  iteration: Iteration | undefined;
  /** The timestamp of the last send to an engine (kept across restarts). */
  lastTimestamp: number;
  retry: { attempts: number; dueAt: number };
}

export interface PipelineEntry {
  readonly name: string;
  deleted: boolean;
  deletedAt: number;
  /** Ascending by version; the last one is the latest. */
  readonly versions: VersionEntry[];
}

export interface ExperimentEntry {
  readonly definition: ExperimentDefinition;
  readonly actor: Cell<typeof experimentMachine>;
  deleted: boolean;
  deletedAt: number;
}

/**
 * Pipelines, experiments and the dataflow engines. Pipeline versions are sent to engines chosen by
 * rendezvous hashing of their uid, follow the engines' acknowledgements, retire older versions once
 * a newer one is ready, and track their step models; experiments follow the resources they route to.
 * Like the placement of models, every command runs to completion and reports what changed.
 */
export class Pipelines {
  readonly pipelines = new Map<string, PipelineEntry>();
  readonly experiments = new Map<string, ExperimentEntry>();
  /** Connected engines, in join order. */
  readonly engines = new Set<string>();
  /** Model name → pipelines whose versions have a step running it (may hold stale names). */
  readonly pipelinesByModel = new Map<string, Set<string>>();
  /** `model:<name>` / `pipeline:<name>` → experiments referring to it (may hold stale names). */
  readonly experimentsByRef = new Map<string, Set<string>>();
  sendSeq = 0;
  /** Restored pipelines waiting for an engine. */
  readonly grace = new Grace();
  readonly changes = new ChangeSet();
  /** Experiments to re-evaluate before the command returns. */
  readonly staleExperiments = new Set<string>();

  constructor(readonly opts: PipelinesOptions) {}
}

export const stateOf = (v: VersionEntry): PipelineState => pipelineStateOf(v.actor);
export const isRetiring = (st: PipelineState) =>
  st === 'terminate' || st === 'terminating' || st === 'terminated';
export const latestOf = (p: PipelineEntry): VersionEntry | undefined =>
  p.versions[p.versions.length - 1];
export const refKey = (type: ExperimentDefinition['resourceType'], name: string) =>
  `${type}:${name}`;

export function index(map: Map<string, Set<string>>, key: string, value: string): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(value);
}

/** The pipeline version changed: reported, and experiments routing to the pipeline re-evaluated. */
export function touch(s: Pipelines, name: string, v: VersionEntry): void {
  s.changes.pipeline(name, v.version);
  for (const e of s.experimentsByRef.get(refKey('pipeline', name)) ?? []) {
    s.staleExperiments.add(e);
  }
}
