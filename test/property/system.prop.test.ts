/**
 * Model-based test of the whole scheduler (issue 5). fast-check generates client commands (LoadModel
 * with new and changed specs, UnloadModel, ServerNotify, pipelines, experiments), agents and engines
 * joining, leaving and draining, the clock, and scheduler restarts from the store; `fc.scheduler`
 * decides when each agent and dataflow reply arrives, interleaved with the commands. A small reference
 * model holds what clients asked for. After every command and every reply the invariants are checked.
 * The reference model and the commands are in test/support/system-commands.ts, the invariants and
 * the runs that check them in test/support/system-invariants.ts; this file holds the properties.
 *
 *   FC_NUM_RUNS=3000 node --import tsx --test test/property/system.prop.test.ts   (a long run)
 *   FC_SEED=… FC_PATH=… FC_REPLAY=… node --import tsx --test test/property/system.prop.test.ts
 *     replays a failure: seed and path as printed, FC_REPLAY the commands' `replayPath`.
 */
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fcParams, replayPath } from '../support/fc.js';
import {
  answer,
  answerEngine,
  commands,
  drain,
  engineJoin,
  join,
  leave,
  load,
  newModel,
  pipelineLoad,
  restart,
  serverNotify,
  tick,
  unload,
} from '../support/system-commands.js';
import { explanationCoverage, finish, newCluster, runSteps } from '../support/system-invariants.js';

let commandsRun = 0;

describe('scheduler against its reference model', () => {
  it('keeps its invariants after every command and reply, in any interleaving', async (t) => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.commands(commands, { maxCommands: 80, size: 'max', ...replayPath() }),
        fc.infiniteStream(fc.nat({ max: 3 })),
        async (s, cmds, outcomes) => {
          const results = outcomes[Symbol.iterator]();
          const m = newModel();
          const c = newCluster(m, {
            onOp: (deliver, what) => {
              void s.schedule(Promise.resolve(what), what).then(deliver);
            },
            // One reply in four fails.
            outcome: () => results.next().value !== 0,
          });
          await fc.scheduledModelRun(s, () => ({ model: m, real: c }), cmds);
          commandsRun += [...cmds].length;
          finish(m, c);
        },
      ),
      fcParams(),
    );
    const reached = [...explanationCoverage.verdictsReached]
      .map(([by, n]) => `${by} ${n}`)
      .join(', ');
    t.diagnostic(
      `${commandsRun} commands run, ${explanationCoverage.checked} explanations checked; ` +
        `rejections explained: ${reached}`,
    );
  });
});

/** Shrunk counterexamples the property found (issues 2 and 5), kept as regressions. */
describe('regressions found by the property', () => {
  it('ScheduleFailed never reports more available replicas than wanted (several draining replicas)', async () => {
    const m1 = { replicas: 1, minReplicas: 0, memory: 0, uri: 0 };
    await runSteps([
      load('m1', m1),
      join('b', 0, 300),
      drain('b', 0),
      join('b', 1, 300),
      join('a', 1, 300),
      drain('a', 1),
      drain('b', 1),
      leave('a', 1),
      unload('m1'),
      join('a', 0, 300),
      answer(0, true),
      leave('a', 0),
      unload('m1'),
      load('m1', m1),
      answer(0, false),
      unload('m1'),
      tick(500),
      unload('m1'),
    ]);
  });

  it('a deleted model is not re-created while an old version still unloads (its reservation held)', async () => {
    const small = { replicas: 1, minReplicas: 0, memory: 200, uri: 0 };
    const none = { replicas: 1, minReplicas: 0, memory: 0, uri: 0 };
    await runSteps([
      join('a', 0, 300),
      load('m3', small),
      load('m1', small),
      load('m3', { ...none, replicas: 2 }),
      unload('m3'),
      load('m3', small),
      answer(0, false),
      answer(1308517599, false),
      answer(0, true),
      join('a', 0, 300),
      answer(0, true),
      join('a', 0, 300),
      load('m1', none),
      load('m1', none),
      answer(0, false),
      unload('m1'),
      load('m1', none),
      load('m1', none),
      join('a', 0, 300),
    ]);
  });

  it('a failed placement keeps a version whose replica is still unloading (reservation held)', async () => {
    const m2 = { replicas: 2, minReplicas: 0, memory: 200, uri: 1 };
    const small = { replicas: 1, minReplicas: 0, memory: 200, uri: 0 };
    const none = { replicas: 1, minReplicas: 0, memory: 0, uri: 0 };
    await runSteps([
      join('a', 1, 1000),
      load('m2', m2),
      join('a', 0, 300),
      load('m2', { ...m2, replicas: 1 }),
      load('m1', small),
      leave('a', 1),
      answer(0, true),
      join('a', 0, 300),
      load('m1', none),
      answer(574839175, true),
      unload('m1'),
      leave('a', 0),
      load('m1', none),
      answer(0, false),
      join('a', 0, 300),
      answer(0, false),
      answer(0, false),
    ]);
  });

  // Issue 5: found by the model-based property; each failed before its fix.
  const one = { replicas: 1, minReplicas: 0, memory: 0, uri: 0 };

  it('a drained replica of a server declared with 0 replicas does not count after a restart', async () => {
    await runSteps([
      join('a', 2, 300),
      load('m1', one),
      answer(0, true),
      join('a', 0, 300),
      drain('a', 2),
      answer(0, true),
      serverNotify('a', 0),
      restart(true),
    ]);
  });

  it('the reconnect grace runs out after a restart even when no command follows', async () => {
    await runSteps([join('a', 0, 300), restart(false), tick(5000)]);
  });

  it('a replica rejoining its server does not end the server (ServerNotify still applies)', async () => {
    await runSteps([join('b', 0, 300), restart(false), join('b', 0, 300), serverNotify('b', 0)]);
  });

  it('an older pipeline version becoming ready does not retire the newer one', async () => {
    await runSteps([
      pipelineLoad('p2', 1),
      pipelineLoad('p2', 0),
      engineJoin('df-0'),
      answerEngine(0, true),
    ]);
  });

  it('a version created while engines are away waits, then says so after the grace', async () => {
    await runSteps([
      engineJoin('df-0'),
      pipelineLoad('p2', 1),
      restart(false),
      pipelineLoad('p1', 0),
    ]);
  });

  it('replicas kept from before a rejoin count on their server replica (restore is exact)', async () => {
    await runSteps([
      load('m4', one),
      join('a', 0, 300),
      answer(0, true),
      load('m4', { ...one, replicas: 2, uri: 1 }),
      restart(true),
      restart(false),
    ]);
    await runSteps([
      load('m4', one),
      join('a', 0, 300),
      answer(0, true),
      restart(false),
      load('m4', { ...one, replicas: 2, memory: 200 }),
      tick(500),
    ]);
  });

  it('a rolling update reports Available only with minReplicas replicas Available', async () => {
    await runSteps([
      join('a', 0, 300),
      load('m4', { ...one, minReplicas: 1 }),
      answer(0, true),
      join('a', 1, 300),
      load('m4', { replicas: 2, minReplicas: 2, memory: 200, uri: 0 }),
      answer(0, true),
    ]);
  });

  it('an agent back after the grace unloads its copy of a version placed elsewhere meanwhile', async () => {
    await runSteps([
      join('b', 0, 300),
      load('m1', one),
      answer(0, true),
      restart(false),
      tick(5000),
      join('a', 0, 300),
      answer(0, true),
    ]);
  });

  it("an agent's copy of a deleted incarnation does not become the model's latest version", async () => {
    await runSteps([
      join('a', 0, 300),
      load('m1', one),
      load('m1', { ...one, memory: 100 }),
      answer(0, true),
      answer(0, true),
      answer(0, true),
      restart(false),
      unload('m1'),
      load('m1', one),
    ]);
  });

  it('a version between the serving one and the latest is unloaded at once', async () => {
    await runSteps([
      join('a', 0, 1000),
      join('a', 1, 1000),
      load('m1', one),
      answer(0, true),
      load('m1', { ...one, uri: 1 }),
      load('m1', { ...one, replicas: 2, memory: 200 }),
      answer(0, true),
      answer(0, true),
    ]);
  });

  it('an agent back within the grace does not leave a version with more replicas than wanted', async () => {
    await runSteps([
      load('m4', { ...one, memory: 200, xgboost: true }),
      join('a', 0, 300),
      answer(0, true),
      join('a', 1, 300),
      drain('a', 0),
      answer(0, true),
      restart(false),
      join('a', 0, 300),
    ]);
  });

  it('a refused agent report still stores the free memory it brought', async () => {
    await runSteps([
      load('m1', { ...one, memory: 100 }),
      join('a', 0, 300),
      drain('a', 0),
      answer(0, true),
      restart(false),
    ]);
  });

  it('a retry that is no longer due is stored as such', async () => {
    await runSteps([
      join('a', 0, 300),
      load('m1', one),
      answer(0, false),
      leave('a', 0),
      tick(5000),
      restart(false),
    ]);
  });
});
