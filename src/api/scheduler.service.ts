import type { ServerWritableStream } from '@grpc/grpc-js';
import type { SchedulerSystem } from '../actors/index.js';
import { failedPrecondition, SchedulerError } from '../domain/errors.js';
import { checkModelName, checkServerName } from '../domain/names.js';
import {
  ControlPlaneResponse_Event,
  type ModelStatusResponse,
  type SchedulerServer,
  type ServerStatusResponse,
} from '../gen/mlops/scheduler/scheduler.js';
import { modelFromProto } from '../wire/model.js';
import type { ErrorLogger } from '../wire/errors.js';
import { serverStream, unary } from '../wire/grpc.js';
import { modelStatusToProto } from './mappers/model.js';
import {
  scalingRequestToProto,
  serverNotifyFromProto,
  serverStatusToProto,
} from './mappers/server.js';
import { DEFAULT_STREAM_LIMITS, StatusSubscriber, type StreamLimits } from './streams.js';

export interface SchedulerServiceDeps {
  system: SchedulerSystem;
  log: ErrorLogger & { info(obj: object, msg?: string): void };
  applicationVersion: string;
  streamLimits?: StreamLimits;
}

const P = '/seldon.mlops.scheduler.Scheduler/';

const notYet = (what: string) => () => {
  throw new SchedulerError('Unimplemented', `${what} are not supported by this scheduler yet`);
};

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
  const modelSubs = new Set<StatusSubscriber<ModelStatusResponse>>();
  const serverSubs = new Set<StatusSubscriber<ServerStatusResponse>>();
  const controlPlane = new Set<ServerWritableStream<unknown, unknown>>();

  const modelMessage = (name: string) => {
    const m = system.model(name, false);
    return m && modelStatusToProto(m);
  };
  const serverMessage = (name: string) => {
    const s = system.server(name);
    return s && serverStatusToProto(s);
  };

  const unsubscribe = system.subscribe((changes) => {
    for (const sub of modelSubs) for (const m of changes.models) sub.push(m, () => modelMessage(m));
    for (const sub of serverSubs) {
      for (const s of changes.servers) sub.push(s, () => serverMessage(s));
      for (const { server, expectedReplicas } of changes.scaling) {
        sub.push(`scale:${server}`, () =>
          scalingRequestToProto(server, expectedReplicas, system.server(server)?.kubernetesMeta),
        );
      }
    }
  });

  function subscribe<T>(
    set: Set<StatusSubscriber<T>>,
    call: ServerWritableStream<unknown, T>,
    initial: [string, () => T | undefined][],
  ): void {
    const sub = new StatusSubscriber<T>(call, limits, () => set.delete(sub));
    set.add(sub);
    for (const [key, build] of initial) sub.push(key, build);
  }

  const implementation: SchedulerServer = {
    serverNotify: unary(`${P}ServerNotify`, log, (req) => {
      system.serverNotify(serverNotifyFromProto(req));
      return {};
    }),
    loadModel: unary(`${P}LoadModel`, log, (req) => {
      system.loadModel(modelFromProto('model', req.model));
      return {};
    }),
    unloadModel: unary(`${P}UnloadModel`, log, (req) => {
      const name = checkModelName('model.name', req.model?.name);
      system.unloadModel(name, req.kubernetesMeta);
      return {};
    }),
    modelStatus: serverStream(`${P}ModelStatus`, log, (req, call) => {
      if (req.model) {
        const name = checkModelName('model.name', req.model.name);
        const m = system.model(name, req.allVersions);
        if (!m) throw failedPrecondition(`Failed to find model ${name}`, { model: name });
        call.write(modelStatusToProto(m));
      } else {
        for (const m of system.listModels(req.allVersions)) call.write(modelStatusToProto(m));
      }
      call.end();
    }),
    serverStatus: serverStream(`${P}ServerStatus`, log, (req, call) => {
      if (req.name !== undefined) {
        const name = checkServerName('name', req.name);
        const s = system.server(name);
        if (!s) throw failedPrecondition(`Server [${name}] not found`, { server: name });
        call.write(serverStatusToProto(s));
      } else {
        for (const s of system.listServers()) call.write(serverStatusToProto(s));
      }
      call.end();
    }),
    schedulerStatus: unary(`${P}SchedulerStatus`, log, () => ({
      applicationVersion: deps.applicationVersion,
    })),
    subscribeModelStatus: serverStream(`${P}SubscribeModelStatus`, log, (req, call) => {
      log.info({ subscriber: req.subscriberName }, 'model status subscriber joined');
      subscribe(
        modelSubs,
        call,
        system.listModels(false).map((m) => [m.name, () => modelMessage(m.name)]),
      );
    }),
    subscribeServerStatus: serverStream(`${P}SubscribeServerStatus`, log, (req, call) => {
      log.info({ subscriber: req.subscriberName }, 'server status subscriber joined');
      subscribe(
        serverSubs,
        call,
        system.listServers().map((s) => [s.name, () => serverMessage(s.name)]),
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
    loadPipeline: unary(`${P}LoadPipeline`, log, notYet('pipelines')),
    unloadPipeline: unary(`${P}UnloadPipeline`, log, notYet('pipelines')),
    pipelineStatus: serverStream(`${P}PipelineStatus`, log, notYet('pipelines')),
    subscribePipelineStatus: serverStream(`${P}SubscribePipelineStatus`, log, notYet('pipelines')),
    startExperiment: unary(`${P}StartExperiment`, log, notYet('experiments')),
    stopExperiment: unary(`${P}StopExperiment`, log, notYet('experiments')),
    experimentStatus: serverStream(`${P}ExperimentStatus`, log, notYet('experiments')),
    subscribeExperimentStatus: serverStream(
      `${P}SubscribeExperimentStatus`,
      log,
      notYet('experiments'),
    ),
  };

  return {
    implementation,
    close: () => {
      unsubscribe();
      for (const s of [...modelSubs, ...serverSubs]) s.end();
      for (const c of controlPlane) c.end();
      controlPlane.clear();
    },
  };
}
