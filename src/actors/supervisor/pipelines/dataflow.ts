// The dataflow engines: which one runs a pipeline version, what it is sent and what it answers.
import { failedPrecondition } from '../../../domain/errors.js';
import type { Changes, DataflowReport } from '../../gateways.js';
import { finish } from './experiments.js';
import {
  isRetiring,
  latestOf,
  NO_ENGINES,
  REBALANCE,
  stateOf,
  touch,
  type EngineAnswer,
  type Iteration,
  type PipelineEntry,
  type Pipelines,
  type VersionEntry,
} from './state.js';

export function engineJoined(s: Pipelines, name: string): Changes {
  s.engines.add(name);
  s.grace.end();
  rebalance(s);
  return finish(s);
}

export function engineLeft(s: Pipelines, name: string): Changes {
  if (s.engines.delete(name)) rebalance(s);
  return finish(s);
}

/** An engine's acknowledgement (or its own rebalance/ready news) for a pipeline version. */
export function dataflowEvent(s: Pipelines, r: DataflowReport): Changes {
  const p = s.pipelines.get(r.pipeline);
  if (!p) throw failedPrecondition(`pipeline ${r.pipeline} not found`, { pipeline: r.pipeline });
  const v = p.versions.find((x) => x.version === r.version);
  if (!v) {
    throw failedPrecondition(`pipeline version ${r.pipeline}:${r.version} not found`, {
      pipeline: r.pipeline,
    });
  }
  if (v.uid !== r.uid) {
    throw failedPrecondition(
      `pipeline version uid mismatch ${r.pipeline}:${r.version} expected ${v.uid} found ${r.uid}`,
      { pipeline: r.pipeline },
    );
  }
  const it = v.iteration;
  // Answers to an older send, or from an engine not asked, are ignored (Seldon parity).
  if (it?.timestamp !== r.timestamp || !it.engines.has(r.engine)) return finish(s);
  const answer: EngineAnswer = r.success ? { ok: true } : { ok: false, reason: r.reason };
  const at = s.opts.now();
  if (it.kind === 'delete') {
    if (r.op !== 'delete') return finish(s);
    it.engines.set(r.engine, answer);
    if ([...it.engines.values()].every((a) => a !== undefined)) {
      v.iteration = undefined;
      const failed = [...it.engines.values()].some((a) => a?.ok === false);
      v.actor.send({ type: 'dataflow.deleted', at, reason: failed ? countsReason(it) : '' });
      touch(s, p.name, v);
    }
    return finish(s);
  }
  if (r.op === 'delete') return finish(s);
  it.engines.set(r.engine, r.op === 'rebalance' ? undefined : answer);
  const answers = [...it.engines.values()];
  const outcome = answers.every((a) => a?.ok === false)
    ? 'failed'
    : answers.some((a) => a?.ok === true) && answers.every((a) => a !== undefined)
      ? 'ready'
      : 'pending';
  const before = stateOf(v);
  v.actor.send({
    type: 'dataflow.reported',
    at,
    outcome,
    reason: r.op === 'rebalance' ? REBALANCE : countsReason(it),
  });
  touch(s, p.name, v);
  const after = stateOf(v);
  if (after === 'ready' && before !== 'ready') {
    v.retry = { attempts: 0, dueAt: 0 };
    retireOthers(s, p, v);
  }
  if (after === 'failed' && before !== 'failed') armRetry(s, p, v);
  return finish(s);
}

/** FNV-1a: a small, stable hash for choosing an engine. */
function hash(str: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < str.length; i++) h = Math.imul(h ^ str.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** `1/2 ready 1/2 failed ` as Seldon words it, plus the engines' own failure reasons. */
function countsReason(it: Iteration): string {
  const answers = [...it.engines.values()];
  const total = answers.length;
  const ready = answers.filter((a) => a?.ok === true).length;
  const failures = [...it.engines].flatMap(([engine, a]) =>
    a && !a.ok ? [`${engine}: ${a.reason}`] : [],
  );
  let reason = '';
  if (ready > 0) reason += `${ready}/${total} ready `;
  if (failures.length > 0) reason += `${failures.length}/${total} failed (${failures.join('; ')})`;
  return reason;
}

/** The engine that runs a version: the highest rendezvous hash of its uid among connected ones. */
function engineFor(s: Pipelines, uid: string): string | undefined {
  let best: string | undefined;
  let bestScore = -1;
  for (const e of s.engines) {
    const score = hash(`${uid}/${e}`);
    if (score > bestScore || (score === bestScore && best !== undefined && e < best)) {
      best = e;
      bestScore = score;
    }
  }
  return best;
}

function send(
  s: Pipelines,
  v: VersionEntry,
  kind: 'create' | 'delete',
  engines: string[],
  keepTopics = false,
): number {
  const timestamp = ++s.sendSeq;
  v.lastTimestamp = timestamp;
  for (const engine of engines) {
    s.opts.dataflow.send(engine, {
      op: kind,
      definition: v.definition,
      version: v.version,
      uid: v.uid,
      timestamp,
      keepTopics,
    });
  }
  return timestamp;
}

export function sendCreate(s: Pipelines, v: VersionEntry, reason: string): void {
  const at = s.opts.now();
  const engine = engineFor(s, v.uid);
  if (engine === undefined) {
    v.iteration = undefined;
    v.actor.send({ type: 'dataflow.unavailable', at, reason: NO_ENGINES });
    return;
  }
  const timestamp = send(s, v, 'create', [engine]);
  v.iteration = { kind: 'create', timestamp, engines: new Map([[engine, undefined]]) };
  v.actor.send({ type: 'dataflow.createSent', at, reason });
}

/** Tells the engines that may run the version to delete it; with none, it is simply gone. */
export function sendDelete(s: Pipelines, v: VersionEntry, keepTopics: boolean): void {
  const at = s.opts.now();
  const targets = new Set(
    [...(v.iteration?.engines.keys() ?? []), engineFor(s, v.uid)].filter(
      (e): e is string => e !== undefined && s.engines.has(e),
    ),
  );
  if (targets.size === 0) {
    v.iteration = undefined;
    v.actor.send({ type: 'dataflow.unavailable', at, reason: NO_ENGINES });
    return;
  }
  const timestamp = send(s, v, 'delete', [...targets], keepTopics);
  v.iteration = {
    kind: 'delete',
    timestamp,
    engines: new Map([...targets].map((e) => [e, undefined])),
  };
  v.actor.send({ type: 'dataflow.deleteSent', at });
}

/** A newer version is ready: older running ones retire, keeping their topics. */
function retireOthers(s: Pipelines, p: PipelineEntry, ready: VersionEntry): void {
  for (const v of p.versions) {
    if (v.version >= ready.version || isRetiring(stateOf(v))) continue;
    v.actor.send({
      type: 'pipeline.unload',
      at: s.opts.now(),
      reason: `replaced by version ${ready.version}`,
    });
    sendDelete(s, v, true);
    touch(s, p.name, v);
  }
}

function armRetry(s: Pipelines, p: PipelineEntry, v: VersionEntry): void {
  if (v === latestOf(p) && !p.deleted && v.retry.attempts < s.opts.maxFailedRetries) {
    v.retry.dueAt = s.opts.now() + s.opts.retryFailedMs;
  }
}

/**
 * Engines came or went: versions whose engine changed are sent to their new one (the old one,
 * if still connected, deletes its copy); with no engine left they wait in Create.
 */
export function rebalance(s: Pipelines): void {
  for (const p of s.pipelines.values()) {
    for (const v of p.versions) {
      const state = stateOf(v);
      if (state === 'terminated') continue;
      const asked = [...(v.iteration?.engines.keys() ?? [])];
      const target = engineFor(s, v.uid);
      if (state === 'terminate' || state === 'terminating') {
        if (asked.some((e) => s.engines.has(e)) && state === 'terminating') continue;
        sendDelete(s, v, true);
      } else if (target === undefined) {
        if (state === 'create' && v.actor.context.reason === NO_ENGINES) continue;
        sendCreate(s, v, REBALANCE);
      } else if (state === 'create' || !asked.includes(target)) {
        const previous = asked.filter((e) => e !== target && s.engines.has(e));
        if (previous.length > 0) send(s, v, 'delete', previous, true);
        sendCreate(s, v, REBALANCE);
      } else continue;
      touch(s, p.name, v);
    }
  }
}
