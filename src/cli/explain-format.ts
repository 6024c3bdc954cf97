/**
 * Explanations and plans (the Placement service's replies) as text for people: what
 * `mlsched model explain` and `mlsched plan` print unless asked for JSON (`-o json`).
 */
import { formatBytes } from '../domain/quantity.js';
import { modelStatus_ModelStateToJSON } from '../gen/mlops/scheduler/scheduler.js';
import {
  PlannedModel_Outcome,
  ReplicaExplanation_Verdict,
  ServerExplanation_Verdict,
  type ModelExplanation,
  type PlanResponse,
  type ReplicaCapacity,
  type ReplicaExplanation,
  type ServerExplanation,
} from '../gen/mlsched/placement/v1/placement.js';

const sorted = (idxs: readonly number[]): string => [...idxs].sort((a, b) => a - b).join(', ');

/** Bytes for people, as the wire carries them (int64). */
const bytes = (n: bigint | number): string => formatBytes(Number(n), { gib: true });

const SERVER_VERDICT: Record<ServerExplanation_Verdict, string> = {
  [ServerExplanation_Verdict.VERDICT_UNSPECIFIED]: '',
  [ServerExplanation_Verdict.CHOSEN]: 'chosen',
  [ServerExplanation_Verdict.REJECTED]: 'rejected',
  [ServerExplanation_Verdict.TOO_FEW_REPLICAS]: 'too few replicas',
  [ServerExplanation_Verdict.NOT_CONSIDERED]: 'not considered',
  [ServerExplanation_Verdict.UNRECOGNIZED]: '',
};

const REPLICA_VERDICT: Record<ReplicaExplanation_Verdict, string> = {
  [ReplicaExplanation_Verdict.VERDICT_UNSPECIFIED]: '',
  [ReplicaExplanation_Verdict.CHOSEN]: 'chosen',
  [ReplicaExplanation_Verdict.SUITABLE]: 'suitable',
  [ReplicaExplanation_Verdict.REJECTED]: 'rejected',
  [ReplicaExplanation_Verdict.UNRECOGNIZED]: '',
};

const OUTCOME: Record<PlannedModel_Outcome, string> = {
  [PlannedModel_Outcome.OUTCOME_UNSPECIFIED]: '',
  [PlannedModel_Outcome.PLACED]: 'placed',
  [PlannedModel_Outcome.PARTIAL]: 'partly placed',
  [PlannedModel_Outcome.FAILED]: 'FAILS',
  [PlannedModel_Outcome.REFUSED]: 'REFUSED',
  [PlannedModel_Outcome.UNRECOGNIZED]: '',
};

function replicaLine(r: ReplicaExplanation): string {
  const verdict = REPLICA_VERDICT[r.verdict];
  const rank = r.rank > 0 ? ` #${r.rank}` : '';
  const by = r.rejectedBy === '' ? '' : ` (${r.rejectedBy})`;
  const declared =
    r.memoryBytes === undefined
      ? ''
      : `; memory ${bytes(r.memoryBytes)}, over-commit ${r.overCommitPercentage ?? 0}%`;
  return `       replica ${r.idx}  ${verdict}${rank}${by}: ${r.why}${declared}`;
}

function serverLines(s: ServerExplanation): string[] {
  const order = s.order > 0 ? `${s.order}.` : '-';
  const by = s.rejectedBy === '' ? '' : ` (${s.rejectedBy})`;
  return [
    `  ${order} ${s.name}  ${SERVER_VERDICT[s.verdict]}${by}: ${s.why}`,
    ...s.replicas.map(replicaLine),
  ];
}

/** Where the model is now, and placement's decision, with the numbers and the suggestions. */
export function formatExplanation(e: ModelExplanation, indent = ''): string[] {
  const state = modelStatus_ModelStateToJSON(e.state);
  const placed =
    e.replicas.length === 0 ? 'none' : `${e.server} replica(s) ${e.replicas.join(', ')}`;
  const lines = [
    `model ${e.model} version ${e.version}: ${state}${e.reason === '' ? '' : ` (${e.reason})`}`,
    `  wants ${e.wantedReplicas} replica(s); placed on: ${placed}`,
  ];
  if (e.note !== '') lines.push(`  ${e.note}`);
  if (e.stays !== '') lines.push(`  stays: ${e.stays}`);
  if (e.awaitingAgents.length > 0) {
    lines.push(
      `  after a restart, waiting for the agents of ${e.awaitingAgents.join(', ')}: ` +
        'placement does not see them yet',
    );
  }
  if (e.retryAt) lines.push(`  a load failed; placement runs again at ${e.retryAt.toISOString()}`);
  const p = e.placement;
  if (p) {
    lines.push(
      p.placed
        ? `placement: ${p.partial ? 'partly ' : ''}on ${p.server} replica(s) ${sorted(p.replicaIdxs)}`
        : `placement: fails: ${p.failureReason}`,
    );
    if (p.tieBreak !== '') lines.push(`  why: ${p.tieBreak}`);
    if (p.servers.length > 0) lines.push('servers, in the order considered:');
    for (const s of p.servers) lines.push(...serverLines(s));
    if (p.suggestions.length > 0) {
      lines.push(`to place it${p.placed ? ' fully' : ''}:`);
      for (const s of p.suggestions) lines.push(`  - ${s}`);
    }
  }
  return lines.map((l) => indent + l);
}

function capacityLine(c: ReplicaCapacity): string {
  const assumed = c.assumed ? ' (assumed: not connected yet)' : '';
  const reserved = c.reservedBytes > 0n ? `, ${bytes(c.reservedBytes)} reserved for loads` : '';
  return (
    `  ${c.server}/${c.idx}  ${bytes(c.freeBytes)} free${reserved} ` +
    `(memory ${bytes(c.memoryBytes)}, over-commit ${c.overCommitPercentage}%)${assumed}`
  );
}

/** Each model's outcome (the explanation of those that fail), the capacity left, the assumptions. */
export function formatPlan(plan: PlanResponse): string[] {
  const lines = [`plan of ${plan.models.length} model(s), in order:`];
  for (const m of plan.models) {
    const p = m.explanation?.placement;
    const where =
      m.outcome === PlannedModel_Outcome.REFUSED
        ? `: ${m.error}`
        : p?.placed
          ? ` on ${p.server} replica(s) ${sorted(p.replicaIdxs)}`
          : `: ${p?.failureReason ?? m.explanation?.note ?? ''}`;
    lines.push(`  ${m.model}  ${OUTCOME[m.outcome]}${where}`);
    for (const s of p?.suggestions ?? []) lines.push(`      - ${s}`);
  }
  if (plan.capacity.length > 0) lines.push('capacity left per server replica:');
  for (const c of plan.capacity) lines.push(capacityLine(c));
  if (plan.alsoChanged.length > 0) lines.push('also changed by the plan:');
  for (const { now, before } of plan.alsoChanged) {
    if (!now) continue;
    const where =
      now.replicas.length > 0 ? `${now.server} replica(s) ${sorted(now.replicas)}` : 'nowhere';
    lines.push(`  ${now.model}  now on ${where} (before: ${before})`);
  }
  if (plan.assumptions.length > 0) lines.push('assumed:');
  for (const a of plan.assumptions) lines.push(`  - ${a}`);
  return lines;
}
