/**
 * The baseline server of the gRPC figures: grpc-js serving the same Scheduler service definition
 * (same messages, same decoding and encoding, same server options as the real app) with handlers
 * that do nothing: unary calls answer `{}`, ModelStatus answers one canned message (what the real
 * scheduler sends for an Available model of the workload), SubscribeModelStatus streams `N` copies
 * of it when the subscriber's name is `count=N` (respecting back-pressure) and ends.
 * It is the limit of the transport on this machine, measured in the same run.
 *
 *   node --import tsx bench/noop-server.ts      prints {"scheduler": <port>} when listening
 */
import {
  Server,
  ServerCredentials,
  type ServerWritableStream,
  type handleServerStreamingCall,
  type handleUnaryCall,
} from '@grpc/grpc-js';
import { modelStatusToProto } from '../src/wire/scheduler/model.js';
import {
  SchedulerService,
  type ModelStatusResponse,
  type SchedulerServer,
} from '../src/gen/mlops/scheduler/scheduler.js';
import { fleet } from './lib.js';
import { loadAll, schedulerWithFleet } from './placement.js';

/** The real scheduler's ModelStatus answer for model 0 of the workload once it is Available. */
function cannedStatus(): ModelStatusResponse {
  const { system, agents } = schedulerWithFleet(fleet(10, 1));
  loadAll(system, agents, 1);
  const view = system.model('m-0', false);
  system.stop();
  if (view?.versions[0]?.state !== 'available') throw new Error('canned model is not Available');
  return modelStatusToProto(view);
}

const canned = cannedStatus();

const empty: handleUnaryCall<unknown, object> = (_call, callback) => {
  callback(null, {});
};
const endAtOnce: handleServerStreamingCall<unknown, unknown> = (call) => {
  call.end();
};

/** Writes `count` messages, waiting for 'drain' whenever the stream's buffer is full. */
function stream(call: ServerWritableStream<unknown, ModelStatusResponse>, count: number): void {
  let sent = 0;
  const more = () => {
    while (sent < count) {
      sent++;
      if (!call.write(canned)) {
        call.once('drain', more);
        return;
      }
    }
    call.end();
  };
  call.on('cancelled', () => {
    sent = count;
  });
  more();
}

const implementation: SchedulerServer = {
  serverNotify: empty,
  loadModel: empty,
  unloadModel: empty,
  loadPipeline: empty,
  unloadPipeline: empty,
  startExperiment: empty,
  stopExperiment: empty,
  schedulerStatus: (_call, callback) => {
    callback(null, { applicationVersion: 'noop' });
  },
  serverStatus: endAtOnce,
  modelStatus: (call) => {
    call.write(canned);
    call.end();
  },
  pipelineStatus: endAtOnce,
  experimentStatus: endAtOnce,
  subscribeServerStatus: endAtOnce,
  subscribeModelStatus: (call) => {
    stream(call, Number(/^count=(\d+)$/.exec(call.request.subscriberName)?.[1] ?? 0));
  },
  subscribeExperimentStatus: endAtOnce,
  subscribePipelineStatus: endAtOnce,
  subscribeControlPlane: endAtOnce,
};

// The same options as the real app's servers (src/app/grpc.ts grpcServer).
const server = new Server({
  'grpc.max_concurrent_streams': 1_000_000,
  'grpc.keepalive_permit_without_calls': 1,
});
server.addService(SchedulerService, implementation);
server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  process.stdout.write(`${JSON.stringify({ scheduler: port })}\n`);
});
