/**
 * What the gRPC sections (api, fanout) drive: the real scheduler as a child process (`mlsched serve
 * --store memory`, free ports) with simulated agents (src/sim/agent.ts, load time 0) for a fleet of
 * server replicas running in this process, or the no-op baseline server (bench/noop-server.ts);
 * a Scheduler client for either; LoadModel in flight. Measures nothing by itself.
 */
import { credentials } from '@grpc/grpc-js';
import {
  ModelStatus_ModelState,
  SchedulerClient,
  type LoadModelRequest,
  type ModelStatusResponse,
} from '../src/gen/mlops/scheduler/scheduler.js';
import { startSimulatedAgent, type SimulatedAgent } from '../src/sim/agent.js';
import {
  benchLoadRequest,
  fleet,
  inFlight,
  spawnBenchScript,
  startSchedulerProcess,
  type Child,
} from './lib.js';

/** A server under test: its client and process (for its CPU), and how to stop it. */
export interface Target {
  name: 'scheduler' | 'no-op';
  address: string;
  client: SchedulerClient;
  pid: number;
  stop(): Promise<void>;
}

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

function connect(name: Target['name'], child: Child<{ scheduler: number }>): Target {
  const address = `127.0.0.1:${child.ready.scheduler}`;
  const client = new SchedulerClient(address, credentials.createInsecure());
  return {
    name,
    address,
    client,
    pid: child.process.pid ?? 0,
    stop: async () => {
      client.close();
      await child.stop();
    },
  };
}

/** The no-op baseline server, in its own process. */
export async function startNoop(): Promise<Target> {
  return connect('no-op', await spawnBenchScript<{ scheduler: number }>('noop-server.ts'));
}

/**
 * The real scheduler in its own process, with `replicas` simulated server replicas (sized for
 * `models` models of the workload) connected; resolves once every replica has joined.
 */
export async function startScheduler(replicas: number, models: number): Promise<Target> {
  const child = await startSchedulerProcess('memory');
  const target = connect('scheduler', child);
  const agents: SimulatedAgent[] = [];
  for (const s of fleet(replicas, models)) {
    agents.push(
      await startSimulatedAgent({
        schedulerHost: '127.0.0.1',
        agentPort: child.ready.agent,
        server: s.name,
        replicaIdxs: Array.from({ length: s.replicas }, (_, i) => i),
        memoryBytes: s.memoryBytes,
        capabilities: s.capabilities,
        overCommitPercentage: 10,
        loadMs: 0,
        unloadMs: 0,
        logger: silent,
      }),
    );
  }
  const deadline = Date.now() + 30_000;
  while ((await joinedReplicas(target.client)) < replicas) {
    if (Date.now() > deadline) throw new Error(`not all ${replicas} replicas joined in 30 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    ...target,
    // The scheduler first: agents leaving a live scheduler would make it move every model.
    stop: async () => {
      await target.stop();
      await Promise.all(agents.map((a) => a.stop()));
    },
  };
}

/** Server replicas the scheduler knows (ServerStatus of all servers). */
function joinedReplicas(client: SchedulerClient): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0;
    client
      .serverStatus({ subscriberName: 'bench' })
      .on('data', (s: { resources: unknown[] }) => (n += s.resources.length))
      .on('error', reject)
      .on('end', () => {
        resolve(n);
      });
  });
}

/** One LoadModel call. */
export function loadModel(client: SchedulerClient, req: LoadModelRequest): Promise<void> {
  return new Promise((resolve, reject) => {
    client.loadModel(req, (err) => {
      if (err) reject(err);
      else resolve();
    });
  });
}

/** One ModelStatus call for one model; resolves with its single answer. */
export function modelStatus(client: SchedulerClient, name: string): Promise<ModelStatusResponse> {
  return new Promise((resolve, reject) => {
    let answer: ModelStatusResponse | undefined;
    client
      .modelStatus({ subscriberName: 'bench', model: { name }, allVersions: false })
      .on('data', (m: ModelStatusResponse) => (answer = m))
      .on('error', reject)
      .on('end', () => {
        if (answer) resolve(answer);
        else reject(new Error(`no status for ${name}`));
      });
  });
}

/** Loads workload models `prefix-0` .. `prefix-(n-1)` with `calls` LoadModel calls in flight. */
export const loadModels = (target: Target, n: number, calls: number, prefix = 'm') =>
  inFlight(calls, (i) => loadModel(target.client, benchLoadRequest(i, prefix)), { count: n });

/** How many models the scheduler lists whose latest version is Available (ModelStatus of all). */
function countAvailable(client: SchedulerClient): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0;
    client
      .modelStatus({ subscriberName: 'bench', allVersions: false })
      .on('data', (m: ModelStatusResponse) => {
        if (m.versions.at(-1)?.state?.state === ModelStatus_ModelState.ModelAvailable) n++;
      })
      .on('error', reject)
      .on('end', () => {
        resolve(n);
      });
  });
}

/** Polls until `n` models are Available, failing after `timeoutMs`. */
export async function waitAvailable(client: SchedulerClient, n: number, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (let seen = 0; (seen = await countAvailable(client)) < n;) {
    if (Date.now() > deadline) throw new Error(`only ${seen} of ${n} models Available`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
