/**
 * The Placement service's messages (mlsched.placement.v1): plan requests decoded and checked as
 * LoadModel and ServerNotify check theirs, and explanations and plans encoded.
 */
import type { ModelExplanation, Plan } from '../actors/index.js';
import { invalidSpec } from '../domain/errors.js';
import { checkModelName } from '../domain/names.js';
import type { ModelDefinition } from '../domain/model.js';
import type { ServerDeclaration } from '../domain/server.js';
import {
  PlannedModel_Outcome,
  ReplicaExplanation_Verdict,
  ServerExplanation_Verdict,
  type ExplainModelRequest,
  type ModelExplanation as ProtoModelExplanation,
  type PlanRequest,
  type PlanResponse,
} from '../gen/mlsched/placement/v1/placement.js';
import { int64, LIMITS } from './limits.js';
import { modelFromProto, modelStateToProto } from './scheduler/model.js';
import { serverNotifyFromProto } from './scheduler/server.js';

/** The model an ExplainModel request names. @throws SchedulerError InvalidSpec naming `name`. */
export const explainModelFromProto = (req: ExplainModelRequest): string =>
  checkModelName('name', req.name);

/**
 * The declarations and models of a plan, each checked as ServerNotify and LoadModel check theirs.
 * @throws SchedulerError InvalidSpec naming the first bad field (`models[2].meta.name`, ...).
 */
export function planRequestFromProto(req: PlanRequest): {
  declarations: ServerDeclaration[];
  definitions: ModelDefinition[];
} {
  if (req.models.length > LIMITS.listLength) {
    throw invalidSpec('models', `has ${req.models.length} entries; at most ${LIMITS.listLength}`);
  }
  return {
    declarations: serverNotifyFromProto({ servers: req.servers, isFirstSync: false }),
    definitions: req.models.map((m, i) => modelFromProto(`models[${i}]`, m)),
  };
}

const SERVER_VERDICTS = {
  chosen: ServerExplanation_Verdict.CHOSEN,
  rejected: ServerExplanation_Verdict.REJECTED,
  tooFewReplicas: ServerExplanation_Verdict.TOO_FEW_REPLICAS,
  notConsidered: ServerExplanation_Verdict.NOT_CONSIDERED,
} as const;

const REPLICA_VERDICTS = {
  chosen: ReplicaExplanation_Verdict.CHOSEN,
  suitable: ReplicaExplanation_Verdict.SUITABLE,
  rejected: ReplicaExplanation_Verdict.REJECTED,
} as const;

const OUTCOMES = {
  placed: PlannedModel_Outcome.PLACED,
  partial: PlannedModel_Outcome.PARTIAL,
  failed: PlannedModel_Outcome.FAILED,
  refused: PlannedModel_Outcome.REFUSED,
} as const;

export function modelExplanationToProto(e: ModelExplanation): ProtoModelExplanation {
  const p = e.placement;
  return {
    model: e.model,
    version: e.version,
    state: modelStateToProto(e.state),
    reason: e.reason,
    server: e.server,
    replicas: [...e.replicas],
    wantedReplicas: e.wantedReplicas,
    note: e.note ?? '',
    awaitingAgents: [...e.awaitingAgents],
    stays: e.stays ?? '',
    ...(e.retryDueAt === undefined ? {} : { retryAt: new Date(e.retryDueAt) }),
    ...(p === undefined
      ? {}
      : {
          placement: {
            placed: p.result.ok,
            partial: p.result.ok && p.result.partial,
            failureReason: p.result.ok ? '' : p.result.reason,
            server: p.result.ok ? p.result.server : '',
            replicaIdxs: p.result.ok ? [...p.result.replicaIdxs] : [],
            tieBreak: p.tieBreak,
            servers: p.servers.map((s) => ({
              name: s.name,
              verdict: SERVER_VERDICTS[s.verdict],
              rejectedBy: s.rejectedBy ?? '',
              why: s.why,
              order: s.order ?? 0,
              missingCapabilities: [...s.missingCapabilities],
              ...(s.suitableReplicas === undefined ? {} : { suitableReplicas: s.suitableReplicas }),
              replicas: s.replicas.map((r) => ({
                idx: r.idx,
                verdict: REPLICA_VERDICTS[r.verdict],
                rejectedBy: r.rejectedBy ?? '',
                why: r.why,
                rank: r.rank ?? 0,
                availableBytes: int64(r.availableBytes),
                reservedBytes: int64(r.reservedBytes),
                freeBytes: int64(r.freeBytes),
                neededBytes: int64(r.neededBytes),
                holdsVersion: r.holdsVersion,
                draining: r.draining,
                ...(r.memoryBytes === undefined ? {} : { memoryBytes: int64(r.memoryBytes) }),
                ...(r.overCommitPercentage === undefined
                  ? {}
                  : { overCommitPercentage: r.overCommitPercentage }),
              })),
            })),
            suggestions: [...p.suggestions],
          },
        }),
  };
}

export function planToProto(plan: Plan): PlanResponse {
  return {
    models: plan.models.map((m) => ({
      model: m.model,
      outcome: OUTCOMES[m.outcome],
      error: m.error ?? '',
      ...(m.explanation ? { explanation: modelExplanationToProto(m.explanation) } : {}),
    })),
    capacity: plan.capacity.map((c) => ({
      server: c.server,
      idx: c.idx,
      memoryBytes: int64(c.memoryBytes),
      overCommitPercentage: c.overCommitPercentage,
      availableBytes: int64(c.availableBytes),
      reservedBytes: int64(c.reservedBytes),
      freeBytes: int64(c.freeBytes),
      assumed: c.assumed,
    })),
    assumptions: [...plan.assumptions],
    alsoChanged: plan.alsoChanged.map((c) => ({
      now: modelExplanationToProto(c.now),
      before: c.before,
    })),
  };
}
