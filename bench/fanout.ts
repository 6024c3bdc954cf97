/**
 * Section 3, stream fan-out, and the end-to-end target: S SubscribeModelStatus clients (1
 * and 100, each on its own connection) are subscribed to the real scheduler (own process, 100
 * simulated replicas in this process, load time 0) while N models (default 10,000) are loaded over
 * gRPC with 16 LoadModel calls in flight. Figures: time from the first LoadModel until every
 * subscriber has seen every model Available, and status messages per second delivered to all
 * subscribers together. Baselines from the no-op server in the same run: the same N LoadModel
 * calls (the transport's time), and the same number of messages per subscriber streamed to the
 * same number of subscribers.
 *
 * Subscribers decode only the model name and state (not the whole message), so that this process,
 * which also runs the agents and the loading client, is not what limits the figure.
 *
 * Flags (via bench/run.ts): `--fanout-models N` (default 10000), `--subscribers 1,100`.
 */
import { Client, credentials, type ClientReadableStream } from '@grpc/grpc-js';
import { BinaryReader } from '@bufbuild/protobuf/wire';
import {
  ModelStatus_ModelState,
  ModelSubscriptionRequest,
} from '../src/gen/mlops/scheduler/scheduler.js';
import { loadModels, startNoop, startScheduler, type Target } from './cluster.js';
import { fmt, processCpuMs, progress, type Row } from './lib.js';

export interface FanoutOptions {
  models: number;
  subscribers: readonly number[];
  replicas: number;
  inFlight: number;
}

/** What a subscriber reads of each message. */
interface Status {
  name: string;
  state: number;
}

/** Longest a load may take before the section gives up on it. */
const TIMEOUT_MS = 10 * 60_000;
/** Most messages the no-op server streams for a baseline, over all subscribers. */
const BASELINE_MESSAGES = 100_000;

/** Value of ModelStatus_ModelState.ModelAvailable on the wire. */
const AVAILABLE: number = ModelStatus_ModelState.ModelAvailable;

/**
 * The model name and the latest version's state of an encoded ModelStatusResponse (field 1, and
 * field 1 of 6 of 2), skipping everything else.
 */
function nameAndState(buf: Buffer): Status {
  const r = new BinaryReader(buf);
  let name = '';
  let state = 0;
  /** Reads fields up to `end`; `field` reads the ones it wants and says so, the rest are skipped. */
  const fields = (end: number, field: (no: number) => boolean) => {
    while (r.pos < end) {
      const [no, type] = r.tag();
      if (!field(no)) r.skip(type, no);
    }
  };
  const nested = (field: (no: number) => boolean) => {
    fields(r.uint32() + r.pos, field);
    return true;
  };
  fields(r.len, (no) => {
    if (no === 1) name = r.string();
    else if (no === 2) {
      nested((v) => v === 6 && nested((s) => s === 1 && ((state = r.int32()), true)));
    } else return false;
    return true;
  });
  return { name, state };
}

/** One SubscribeModelStatus client on its own connection, counting what it receives. */
class Subscriber {
  messages = 0;
  /** When the first message arrived (performance.now()). */
  firstAt = Infinity;
  private readonly available = new Set<string>();
  private readonly client: Client;
  private readonly call: ClientReadableStream<Status>;
  /** Resolves when `done(this)` holds after a message; rejects if the stream fails first. */
  readonly finished: Promise<number>;

  constructor(address: string, name: string, done: (s: Subscriber) => boolean) {
    this.client = new Client(address, credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
    });
    this.call = this.client.makeServerStreamRequest(
      '/seldon.mlops.scheduler.Scheduler/SubscribeModelStatus',
      (req: ModelSubscriptionRequest) => Buffer.from(ModelSubscriptionRequest.encode(req).finish()),
      nameAndState,
      { subscriberName: name },
    );
    this.finished = new Promise((resolve, reject) => {
      this.call.on('data', (m: Status) => {
        if (this.messages++ === 0) this.firstAt = performance.now();
        if (m.state === AVAILABLE) this.available.add(m.name);
        else this.available.delete(m.name);
        if (done(this)) resolve(performance.now());
      });
      this.call.on('error', reject);
      this.call.on('end', () => {
        reject(new Error(`stream ended after ${this.messages} messages`));
      });
    });
    this.finished.catch(() => undefined);
  }

  get availableModels(): number {
    return this.available.size;
  }

  /** Resolves once the connection is up (the subscription is then on its way). */
  ready(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.waitForReady(Date.now() + 10_000, (e) => {
        if (e) reject(e);
        else resolve();
      });
    });
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

/** Subscribers on `target`, connected; `done` says when each has all it waits for. */
async function subscribe(
  target: Target,
  count: number,
  name: string,
  done: (s: Subscriber) => boolean,
): Promise<Subscriber[]> {
  const subs = Array.from({ length: count }, () => new Subscriber(target.address, name, done));
  await Promise.all(subs.map((s) => s.ready()));
  // Let the server register the calls before anything is sent.
  await new Promise((r) => setTimeout(r, 200));
  return subs;
}

const withTimeout = <T>(p: Promise<T>, what: string): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`${what}: no result within ${TIMEOUT_MS / 1000} s`));
      }, TIMEOUT_MS);
    }),
  ]).finally(() => {
    clearTimeout(timer);
  });
};

export async function fanoutSection(o: FanoutOptions): Promise<Row[]> {
  const section = 'fanout';
  const rows: Row[] = [];
  const noop = await startNoop();
  try {
    // The transport's time for the same LoadModel calls.
    const t0 = performance.now();
    await loadModels(noop, o.models, o.inFlight);
    const noopLoadMs = performance.now() - t0;

    for (const count of o.subscribers) {
      progress(`fanout: ${o.models} models, ${count} subscriber(s)`);
      const target = await startScheduler(o.replicas, o.models);
      let wallMs: number;
      let loadCallsMs: number;
      let messages: number[];
      let cpuMs: number;
      try {
        const subs = await subscribe(target, count, 'bench', (s) => s.availableModels === o.models);
        const cpu0 = processCpuMs(target.pid);
        const start = performance.now();
        await loadModels(target, o.models, o.inFlight);
        loadCallsMs = performance.now() - start;
        const ends = await withTimeout(
          Promise.all(subs.map((s) => s.finished)),
          `${count} subscriber(s) waiting for ${o.models} models`,
        );
        wallMs = Math.max(...ends) - start;
        cpuMs = processCpuMs(target.pid) - cpu0;
        messages = subs.map((s) => s.messages);
        for (const s of subs) s.close();
      } finally {
        await target.stop();
      }
      const total = messages.reduce((a, b) => a + b, 0);

      // Baseline: as many messages per subscriber from the no-op server (at most BASELINE_MESSAGES
      // in all: enough for a steady rate).
      const perSub = Math.min(Math.round(total / count), Math.ceil(BASELINE_MESSAGES / count));
      const baseSubs = await subscribe(
        noop,
        count,
        `count=${perSub}`,
        (s) => s.messages === perSub,
      );
      const baseEnds = await withTimeout(
        Promise.all(baseSubs.map((s) => s.finished)),
        'no-op subscribers',
      );
      // It streams as soon as a subscriber arrives: timed from the first message anyone received.
      const baseMs = Math.max(...baseEnds) - Math.min(...baseSubs.map((s) => s.firstAt));
      for (const s of baseSubs) s.close();

      progress(
        `fanout: all Available after ${fmt(wallMs)} ms; ${fmt(total)} messages to ${count} subscriber(s)`,
      );
      const what = `${o.models} models, LoadModel over gRPC ${o.inFlight} in flight, ${o.replicas} replicas, ${count} subscriber(s)`;
      rows.push(
        {
          section,
          figure: `${what}: first LoadModel to all Available`,
          value: wallMs,
          unit: 'ms',
          baseline: noopLoadMs,
          baselineName: 'same LoadModel calls on the no-op server',
          ...(count === 1 && o.models >= 10_000 && o.replicas === 100 && o.inFlight === 16
            ? { target: { text: '10,000 models all Available within 3 s', met: wallMs <= 3000 } }
            : {}),
          detail: {
            loadModelCallsMs: loadCallsMs,
            schedulerCpuMs: cpuMs,
            messagesPerSubscriber: messages,
          },
        },
        {
          section,
          figure: `status messages/s to ${count} subscriber(s) (${fmt(total / count)} each)`,
          value: (total / wallMs) * 1000,
          unit: 'msg/s',
          baseline: ((perSub * count) / baseMs) * 1000,
          baselineName: `no-op server streaming ${fmt(perSub)} to each`,
        },
      );
    }
  } finally {
    await noop.stop();
  }
  return rows;
}
