import type { ServerWritableStream } from '@grpc/grpc-js';
import type { SchedulerSystem } from '../actors/index.js';
import { failedPrecondition } from '../domain/errors.js';
import {
  ControlPlaneResponse_Event,
  ExperimentStatusResponse,
  ModelStatusResponse,
  PipelineStatusResponse,
  SchedulerService,
  ServerStatusResponse,
  type SchedulerServer,
} from '../gen/mlops/scheduler/scheduler.js';
import type { ErrorLogger } from '../wire/errors.js';
import { encoded, passEncoded, serverStream, unary, type Encoder } from '../wire/grpc.js';
import { optionalName, requiredName } from '../wire/limits.js';
import { experimentFromProto, experimentStatusToProto } from '../wire/scheduler/experiment.js';
import {
  modelFromProto,
  modelStatusFromProto,
  modelStatusToProto,
  unloadModelFromProto,
} from '../wire/scheduler/model.js';
import { pipelineFromProto, pipelineStatusToProto } from '../wire/scheduler/pipeline.js';
import {
  scalingRequestToProto,
  serverNotifyFromProto,
  serverStatusFromProto,
  serverStatusToProto,
} from '../wire/scheduler/server.js';
import { DEFAULT_STREAM_LIMITS, StatusSubscriber, type StreamLimits } from './streams.js';

export interface SchedulerServiceDeps {
  system: SchedulerSystem;
  log: ErrorLogger & { info(obj: object, msg?: string): void };
  applicationVersion: string;
  streamLimits?: StreamLimits;
  /**
   * Resolves once the changes made so far are durable (bounded by the caller); mutating calls
   * answer only after it, so an acknowledged change survives a crash.
   */
  durable?: () => Promise<void>;
}

const P = '/seldon.mlops.scheduler.Scheduler/';

/**
 * The Scheduler service definition to register: status streams write messages encoded once for
 * all their subscribers, which its response serializers pass through as they are.
 */
export const schedulerServiceDefinition = passEncoded(SchedulerService);

/**
 * The Scheduler gRPC service: each handler decodes, calls the system facade and encodes. Returns the
 * implementation and a `close()` that ends every open subscription (server shutdown).
 */
export function createSchedulerService(deps: SchedulerServiceDeps): {
  implementation: SchedulerServer;
  close(): void;
} {
  const { system, log } = deps;
  const limits = deps.streamLimits ?? DEFAULT_STREAM_LIMITS;
  /** Resources whose status could not be built or encoded, each logged once. */
  const unencodable = new Set<string>();

  /**
   * A resource's status message, encoded; undefined when it is gone, or when it cannot be built or
   * encoded (a stored value beyond what its field carries): then the resource is left out of
   * listings and streams (logged once) and everyone else is still answered.
   */
  const encode = <T>(
    type: Encoder<T>,
    resource: string,
    build: () => T | undefined,
  ): Buffer | undefined => {
    try {
      const message = build();
      return message && encoded(type, message);
    } catch (e) {
      if (!unencodable.has(resource)) {
        unencodable.add(resource);
        log.error(
          { resource, err: e instanceof Error ? e.message : String(e) },
          'status cannot be encoded: left out of listings and streams',
        );
      }
      return undefined;
    }
  };

  /**
   * A status message built when a subscriber first writes it and encoded once, whoever writes it
   * after: a change fanned out to N subscribers costs one build and one encode, not N.
   */
  const encodedOnce = <T>(
    type: Encoder<T>,
    resource: string,
    build: () => T | undefined,
  ): (() => Buffer | undefined) => {
    let built = false;
    let bytes: Buffer | undefined;
    return () => {
      if (!built) {
        built = true;
        bytes = encode(type, resource, build);
      }
      return bytes;
    };
  };

  /** Writes each item's status that can be encoded (see `encode`), then ends the listing. */
  const list = <I, T>(
    call: ServerWritableStream<unknown, unknown>,
    type: Encoder<T>,
    items: readonly I[],
    resource: (item: I) => string,
    build: (item: I) => T,
  ) => {
    for (const item of items) {
      const bytes = encode(type, resource(item), () => build(item));
      if (bytes) call.write(bytes);
    }
    call.end();
  };
  const durable = deps.durable ?? (() => Promise.resolve());
  const modelSubs = new Set<StatusSubscriber>();
  const serverSubs = new Set<StatusSubscriber>();
  const pipelineSubs = new Set<StatusSubscriber>();
  const experimentSubs = new Set<StatusSubscriber>();
  const controlPlane = new Set<ServerWritableStream<unknown, unknown>>();

  const modelMessage = (name: string) =>
    encodedOnce(ModelStatusResponse, `model ${name}`, () => {
      const m = system.model(name, false);
      return m && modelStatusToProto(m);
    });
  const serverMessage = (name: string) =>
    encodedOnce(ServerStatusResponse, `server ${name}`, () => {
      const s = system.server(name);
      return s && serverStatusToProto(s);
    });
  const pipelineMessage = (name: string, version: number) =>
    encodedOnce(PipelineStatusResponse, `pipeline ${name}:${version}`, () => {
      const p = system.pipelineVersion(name, version);
      return p && pipelineStatusToProto(p);
    });
  const experimentMessage = (name: string) =>
    encodedOnce(ExperimentStatusResponse, `experiment ${name}`, () => {
      const e = system.experiment(name);
      return e && experimentStatusToProto(e);
    });

  /**
   * Queues an update per item on every subscriber of the set, each message built once for all;
   * nothing is built while the set has no subscriber.
   */
  const fanOut = <I>(
    subs: Set<StatusSubscriber>,
    items: readonly I[],
    update: (item: I) => [string, () => Buffer | undefined],
  ) => {
    if (subs.size === 0 || items.length === 0) return;
    const updates = items.map(update);
    for (const sub of subs) for (const [key, message] of updates) sub.push(key, message);
  };

  const unsubscribe = system.subscribe((changes) => {
    fanOut(pipelineSubs, changes.pipelines, ({ name, version }) => [
      `${name}:${version}`,
      pipelineMessage(name, version),
    ]);
    fanOut(experimentSubs, changes.experiments, (e) => [e, experimentMessage(e)]);
    fanOut(modelSubs, changes.models, (m) => [m, modelMessage(m)]);
    fanOut(serverSubs, changes.servers, (s) => [s, serverMessage(s)]);
    fanOut(serverSubs, changes.scaling, ({ server, expectedReplicas }) => [
      `scale:${server}`,
      encodedOnce(ServerStatusResponse, `server ${server}`, () =>
        scalingRequestToProto(server, expectedReplicas, system.server(server)?.kubernetesMeta),
      ),
    ]);
  });

  function subscribe(
    set: Set<StatusSubscriber>,
    call: ServerWritableStream<unknown, unknown>,
    initial: [string, () => Buffer | undefined][],
  ): void {
    // Writes encoded messages, which schedulerServiceDefinition's serializers pass through.
    const sub = new StatusSubscriber<Buffer>(call, limits, () => set.delete(sub));
    set.add(sub);
    for (const [key, message] of initial) sub.push(key, message);
  }

  const implementation: SchedulerServer = {
    serverNotify: unary(`${P}ServerNotify`, log, async (req) => {
      system.serverNotify(serverNotifyFromProto(req));
      await durable();
      return {};
    }),
    loadModel: unary(`${P}LoadModel`, log, async (req) => {
      system.loadModel(modelFromProto('model', req.model));
      await durable();
      return {};
    }),
    unloadModel: unary(`${P}UnloadModel`, log, async (req) => {
      const { name, kubernetesMeta } = unloadModelFromProto(req);
      system.unloadModel(name, kubernetesMeta);
      await durable();
      return {};
    }),
    modelStatus: serverStream(`${P}ModelStatus`, log, (req, call) => {
      const one = (name: string) => {
        const m = system.model(name, req.allVersions);
        if (!m) throw failedPrecondition(`Failed to find model ${name}`, { model: name });
        return [m];
      };
      const name = modelStatusFromProto(req);
      const models = name !== undefined ? one(name) : system.listModels(req.allVersions);
      list(call, ModelStatusResponse, models, (m) => `model ${m.name}`, modelStatusToProto);
    }),
    serverStatus: serverStream(`${P}ServerStatus`, log, (req, call) => {
      const one = (name: string) => {
        const s = system.server(name);
        if (!s) throw failedPrecondition(`Server [${name}] not found`, { server: name });
        return [s];
      };
      const name = serverStatusFromProto(req);
      const servers = name !== undefined ? one(name) : system.listServers();
      list(call, ServerStatusResponse, servers, (s) => `server ${s.name}`, serverStatusToProto);
    }),
    schedulerStatus: unary(`${P}SchedulerStatus`, log, () => ({
      applicationVersion: deps.applicationVersion,
    })),
    subscribeModelStatus: serverStream(`${P}SubscribeModelStatus`, log, (req, call) => {
      log.info({ subscriber: req.subscriberName }, 'model status subscriber joined');
      subscribe(
        modelSubs,
        call,
        system.listModels(false).map((m) => [m.name, modelMessage(m.name)]),
      );
    }),
    subscribeServerStatus: serverStream(`${P}SubscribeServerStatus`, log, (req, call) => {
      log.info({ subscriber: req.subscriberName }, 'server status subscriber joined');
      subscribe(
        serverSubs,
        call,
        system.listServers().map((s) => [s.name, serverMessage(s.name)]),
      );
    }),
    subscribeControlPlane: serverStream(`${P}SubscribeControlPlane`, log, (req, call) => {
      log.info({ subscriber: req.subscriberName }, 'control plane subscriber joined');
      // Ready at once: servers first, then the resources (the seed's two events).
      call.write({ event: ControlPlaneResponse_Event.SEND_SERVERS });
      call.write({ event: ControlPlaneResponse_Event.SEND_RESOURCES });
      controlPlane.add(call);
      const drop = () => controlPlane.delete(call);
      call.on('cancelled', drop);
      call.on('close', drop);
    }),
    loadPipeline: unary(`${P}LoadPipeline`, log, async (req) => {
      system.loadPipeline(pipelineFromProto('pipeline', req.pipeline));
      await durable();
      return {};
    }),
    unloadPipeline: unary(`${P}UnloadPipeline`, log, async (req) => {
      system.unloadPipeline(requiredName('name', req.name));
      await durable();
      return {};
    }),
    pipelineStatus: serverStream(`${P}PipelineStatus`, log, (req, call) => {
      const one = (name: string) => {
        const p = system.pipeline(name, req.allVersions);
        if (!p) throw failedPrecondition(`pipeline ${name} not found`, { pipeline: name });
        return [p];
      };
      const name = optionalName('name', req.name);
      const pipelines = name !== undefined ? one(name) : system.listPipelines(req.allVersions);
      list(
        call,
        PipelineStatusResponse,
        pipelines,
        (p) => `pipeline ${p.name}`,
        pipelineStatusToProto,
      );
    }),
    subscribePipelineStatus: serverStream(`${P}SubscribePipelineStatus`, log, (req, call) => {
      log.info({ subscriber: req.subscriberName }, 'pipeline status subscriber joined');
      subscribe(
        pipelineSubs,
        call,
        system
          .listPipelines(false)
          .flatMap((p) =>
            p.versions.map((v): [string, () => Buffer | undefined] => [
              `${p.name}:${v.version}`,
              pipelineMessage(p.name, v.version),
            ]),
          ),
      );
    }),
    startExperiment: unary(`${P}StartExperiment`, log, async (req) => {
      system.startExperiment(experimentFromProto('experiment', req.experiment));
      await durable();
      return {};
    }),
    stopExperiment: unary(`${P}StopExperiment`, log, async (req) => {
      system.stopExperiment(requiredName('name', req.name));
      await durable();
      return {};
    }),
    experimentStatus: serverStream(`${P}ExperimentStatus`, log, (req, call) => {
      const one = (name: string) => {
        const e = system.experiment(name);
        if (!e) throw failedPrecondition(`Experiment not found ${name}`, { experiment: name });
        return [e];
      };
      const name = optionalName('name', req.name);
      const experiments = name !== undefined ? one(name) : system.listExperiments();
      list(
        call,
        ExperimentStatusResponse,
        experiments,
        (e) => `experiment ${e.definition.name}`,
        experimentStatusToProto,
      );
    }),
    subscribeExperimentStatus: serverStream(`${P}SubscribeExperimentStatus`, log, (req, call) => {
      log.info({ subscriber: req.subscriberName }, 'experiment status subscriber joined');
      subscribe(
        experimentSubs,
        call,
        system
          .listExperiments()
          .map((e) => [e.definition.name, experimentMessage(e.definition.name)]),
      );
    }),
  };

  return {
    implementation,
    close: () => {
      unsubscribe();
      for (const s of [...modelSubs, ...serverSubs, ...pipelineSubs, ...experimentSubs]) s.end();
      for (const c of controlPlane) c.end();
      controlPlane.clear();
    },
  };
}
