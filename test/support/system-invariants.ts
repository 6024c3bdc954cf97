/**
 * The whole-system property's invariants and the runs that check them: the scheduler agrees with
 * the reference model, no agent is over-committed, model, pipeline and experiment states are
 * consistent, every explanation matches what placement did, and once everything has answered nothing
 * waits. `newCluster` checks them after every command and reply, `finish` once everything is quiet
 * and again after a restart; `runSteps` runs hand-written regressions through both.
 */
import assert from 'node:assert/strict';
import { Cluster, OVERCOMMIT } from './cluster.js';
import { newModel, PIPELINES, type Cmd, type Model } from './system-commands.js';

/** The scheduler settings every cluster of the property runs with. */
const DRAIN_TIMEOUT_MS = 1000;
const RECONNECT_GRACE_MS = 2000;

/** How far the explanation check reached over all runs, for the property's diagnostic. */
export const explanationCoverage = {
  checked: 0,
  /** How often each filter's rejection was explained (which filters the property reaches). */
  verdictsReached: new Map<string, number>(),
};

/**
 * Replica states placement keeps a version in: requested, loading or serving. Draining replicas
 * (their server replica is leaving) and unloading ones are winding down.
 */
const PLACED = ['loadRequested', 'loading', 'loaded', 'available', 'loadedUnavailable'];

/** The scheduler answers what clients asked for. */
function checkAgainstModel(m: Model, c: Cluster): void {
  const real = new Map(c.system.listModels(false).map((v) => [v.name, v]));
  for (const [name, want] of m.models) {
    const got = real.get(name);
    if (!got) {
      // Deleted models are forgotten once their TTL expires.
      assert.ok(want.deleted, `model ${name} is missing`);
      m.models.delete(name);
      continue;
    }
    assert.equal(got.deleted, want.deleted, `model ${name} deleted`);
    if (!want.deleted) {
      assert.deepEqual(got.versions[0]?.definition, want.definition, `model ${name} definition`);
    }
  }
  for (const name of real.keys()) assert.ok(m.models.has(name), `unknown model ${name} listed`);
  for (const p of c.system.listPipelines(false)) {
    const want = m.pipelines.get(p.name);
    assert.ok(want, `unknown pipeline ${p.name} listed`);
    assert.equal(p.deleted, want.deleted, `pipeline ${p.name} deleted`);
    const steps = Object.keys(PIPELINES[want.variant] ?? {});
    if (!want.deleted) {
      assert.deepEqual(
        p.versions[0]?.definition.steps.map((s) => s.name),
        steps,
        `pipeline ${p.name} steps`,
      );
    }
  }
  for (const e of c.system.listExperiments()) {
    const want = m.experiments.get(e.definition.name);
    assert.ok(want, `unknown experiment ${e.definition.name} listed`);
    assert.equal(e.deleted, want.stopped, `experiment ${e.definition.name} stopped`);
  }
  const listed = new Map(c.system.listServers().map((s) => [s.name, s]));
  for (const [name, want] of m.servers) {
    const s = listed.get(name);
    // As in the reference, a server is forgotten, declaration and all, when its last replica leaves.
    if (s) assert.equal(s.expectedReplicas, want, `server ${name} expectedReplicas`);
    else m.servers.delete(name);
  }
}

/** No agent ever holds more than its memory plus over-commit. */
function checkAgents(c: Cluster): void {
  for (const a of c.agents.values()) {
    const cap = Math.floor(a.memory * (1 + OVERCOMMIT / 100));
    const used = [...a.held.values()].reduce((s, h) => s + h.memory, 0);
    const held = [...a.held.keys()].join(',');
    assert.ok(used <= cap, `${a.server}/${a.idx} holds ${used} > ${cap} (${held})`);
  }
}

function checkModels(c: Cluster): void {
  const listed = new Set(
    c.system.listServers().flatMap((s) => s.replicas.map((r) => `${s.name}/${r.idx}`)),
  );
  for (const key of listed) {
    const [s = '', i = ''] = key.split('/');
    const waiting = c.world.now < c.restartedAt + RECONNECT_GRACE_MS;
    assert.ok(c.connected(s, Number(i)) || waiting, `${key} listed but its agent is gone`);
  }
  for (const m of c.system.listModels(true)) {
    const latest = m.versions.at(-1);
    if (!latest || m.deleted) continue;
    const d = latest.definition.deployment;
    const want = d?.replicas ?? 0;
    assert.ok(latest.availableReplicas <= want, `${m.name}: ${latest.availableReplicas} > ${want}`);
    if (latest.state === 'available') {
      const avail = latest.replicas.filter((r) => r.state === 'available').length;
      const min = Math.max(1, d?.minReplicas ?? 0);
      assert.ok(avail >= min, `${m.name} is ModelAvailable with ${avail} of ${min} replicas`);
    }
    const placed = m.versions.filter((v) => v.replicas.some((r) => PLACED.includes(r.state)));
    // The last available version and the latest; the ones between only wind down.
    const show = (v: (typeof placed)[number]) =>
      `${v.version}@${v.server}[${v.replicas.map((r) => `${r.idx}:${r.state}`).join()}]`;
    assert.ok(placed.length <= 2, `${m.name}: ${placed.map(show).join(' ')} placed`);
    for (const v of m.versions) {
      for (const r of v.replicas) {
        if (!PLACED.includes(r.state) && r.state !== 'draining') continue;
        const key = `${v.server}/${r.idx}`;
        assert.ok(listed.has(key), `${m.name}:${v.version} ${r.state} on unlisted ${key}`);
      }
    }
  }
}

function checkPipelinesAndExperiments(c: Cluster): void {
  const models = new Map(c.system.listModels(true).map((m) => [m.name, m.versions]));
  const anyAvailable = (m: string) => (models.get(m) ?? []).some((v) => v.state === 'available');
  const latestState = (m: string) => models.get(m)?.at(-1)?.state;
  for (const p of c.system.listPipelines(true)) {
    const ready = p.versions.filter((v) => v.state === 'ready').length;
    assert.ok(ready <= 1, `${p.name}: ${ready} versions ready`);
    for (const v of p.versions) {
      if (v.state === 'terminated') continue;
      const want = v.definition.steps.every((s) => anyAvailable(s.name));
      assert.equal(v.modelsReady, want, `${p.name}:${v.version} modelsReady ${v.modelsReady}`);
    }
  }
  for (const p of c.system.listPipelines(false)) {
    const latest = p.versions[0];
    const retiring = ['terminate', 'terminating', 'terminated'].includes(latest?.state ?? '');
    assert.ok(p.deleted || !retiring, `${p.name}: latest version ${latest?.state} while loaded`);
  }
  const pipelineReady = (name: string) =>
    c.system.pipeline(name, false)?.versions[0]?.state === 'ready';
  for (const e of c.system.listExperiments()) {
    if (e.deleted) continue;
    const d = e.definition;
    const ready = (n: string) =>
      d.resourceType === 'model' ? latestState(n) === 'available' : pipelineReady(n);
    const candidates = d.candidates.every((x) => ready(x.name));
    assert.equal(e.candidatesReady, candidates, `${d.name} candidatesReady`);
    assert.equal(e.mirrorReady, d.mirror === undefined || ready(d.mirror.name), `${d.name} mirror`);
  }
}

/**
 * The explanation of every model agrees with what placement did: a ScheduleFailed version fails
 * for the reason it states, and a placed one is explained on its server and the replicas it holds.
 */
function checkExplanations(c: Cluster): void {
  const { verdictsReached } = explanationCoverage;
  for (const name of c.system.modelNames()) {
    const e = c.system.explainModel(name);
    const result = e?.placement?.result;
    // After a restart, until the agents are back, a model's state may predate the restart.
    if (!e || !result || e.awaitingAgents.length > 0) continue;
    explanationCoverage.checked++;
    for (const server of e.placement.servers) {
      for (const by of [server.rejectedBy, ...server.replicas.map((r) => r.rejectedBy)]) {
        if (by !== undefined) verdictsReached.set(by, (verdictsReached.get(by) ?? 0) + 1);
      }
    }
    const where = `${name}:${e.version} ${e.state} on ${e.server}[${e.replicas.join()}]`;
    if (e.state === 'scheduleFailed') {
      assert.deepEqual(result, { ok: false, reason: e.reason }, `${where}: explained as placed`);
    } else if (
      e.replicas.length > 0 &&
      e.retryDueAt === undefined &&
      e.state !== 'failed' &&
      e.stays === undefined
    ) {
      // (A version whose load failed waits for its retry, which places it again; one that stays
      // where placement would no longer put it says why.)
      if (!result.ok) {
        // Placement cannot give it all it wants: it keeps what it has and waits for capacity.
        assert.ok(
          e.replicas.length < e.wantedReplicas,
          `${where}: explained as failing (${result.reason}) with all ${e.wantedReplicas} replicas`,
        );
        continue;
      }
      assert.equal(result.server, e.server, `${where}: explained on another server`);
      assert.deepEqual(
        [...result.replicaIdxs].sort((a, b) => a - b),
        e.replicas,
        `${where}: explained on other replicas`,
      );
    }
  }
}

/** Every invariant that holds after each command and reply. */
function checkAll(m: Model, c: Cluster): void {
  checkAgainstModel(m, c);
  checkAgents(c);
  checkModels(c);
  checkPipelinesAndExperiments(c);
  checkExplanations(c);
  assert.deepEqual(c.system.audit(), [], 'indexes kept for speed agree with what they index');
}

/**
 * Once every agent and engine has answered: deletions are done, each version is loaded on one server
 * (an agent that returns late may bring a copy of a version placed elsewhere meanwhile; it is
 * unloaded), and nothing waits.
 */
function checkQuiet(c: Cluster): void {
  const deleted = new Set(
    c.system
      .listModels(false)
      .filter((m) => m.deleted)
      .map((m) => m.name),
  );
  const serverOf = new Map<string, string>();
  for (const a of c.agents.values()) {
    for (const h of a.held.values()) {
      const name = h.definition.meta.name;
      const id = `${name}:${h.version}`;
      assert.ok(!deleted.has(name), `deleted ${id} still loaded on ${a.server}`);
      const other = serverOf.get(id) ?? a.server;
      assert.equal(other, a.server, `${id} is loaded on servers ${other} and ${a.server}`);
      serverOf.set(id, a.server);
    }
  }
  for (const p of c.system.listPipelines(true)) {
    for (const v of p.versions) {
      const waiting = ['creating', 'terminate', 'terminating'].includes(v.state);
      const unsent = v.state === 'create' && c.engines.size > 0;
      assert.ok(!waiting && !unsent, `${p.name}:${v.version} still ${v.state} (${v.reason})`);
    }
  }
}

/** A cluster that checks every invariant after each command and reply. */
export function newCluster(m: Model, o: Partial<ConstructorParameters<typeof Cluster>[0]> = {}) {
  return new Cluster(
    { drainTimeoutMs: DRAIN_TIMEOUT_MS, reconnectGraceMs: RECONNECT_GRACE_MS, ...o },
    (c) => {
      checkAll(m, c);
    },
  );
}

/** After the commands: everything answered, invariants hold, and a restart changes nothing. */
export function finish(m: Model, c: Cluster): void {
  c.rethrow();
  c.quiesce();
  // Agents and engines that did not come back after a restart are given up on; then the agents
  // return late, with whatever they still hold.
  c.act(() => {
    c.world.advance(RECONNECT_GRACE_MS);
  });
  c.act(() => {
    c.rejoinAgents();
  });
  c.quiesce();
  checkAll(m, c);
  checkQuiet(c);
  c.restart(true);
  checkAll(m, c);
}

/** Runs hand-written steps in order (regressions): agents answer only through `answer(...)`. */
export async function runSteps(steps: readonly Cmd[]): Promise<void> {
  const m = newModel();
  const c = newCluster(m);
  for (const s of steps) await s.run(m, c);
  finish(m, c);
}
