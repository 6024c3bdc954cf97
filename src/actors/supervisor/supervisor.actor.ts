import { fromTransition } from 'xstate';
import type { ExperimentDefinition } from '../../domain/experiment.js';
import type { ModelDefinition } from '../../domain/model.js';
import type { PipelineDefinition } from '../../domain/pipeline.js';
import type { ServerDeclaration } from '../../domain/server.js';
import type { Changes, DataflowReport } from '../gateways.js';
import { PipelineSupervisor, type PipelineSupervisorOptions } from './pipelines.js';
import { Supervisor, type SupervisorOptions } from './supervisor.js';
import type { AgentReport, ReplicaJoin } from './views.js';

/** Where the supervisor leaves a command's outcome for the caller that sent it. */
export interface Reply {
  outcome?: { ok: true; value: unknown } | { ok: false; error: unknown; changes: Changes };
}

/** Everything the supervisor is asked to do; each event carries its reply slot. */
export type SupervisorEvent = { reply: Reply } & (
  | { type: 'model.load'; definition: ModelDefinition }
  | {
      type: 'model.unload';
      name: string;
      kubernetesMeta?: { namespace: string; generation: number } | undefined;
    }
  | { type: 'server.notify'; declarations: readonly ServerDeclaration[] }
  | ({ type: 'agent.replicaJoined' } & ReplicaJoin)
  | { type: 'agent.replicaLeft'; server: string; idx: number }
  | { type: 'agent.event'; report: AgentReport }
  | { type: 'agent.drain'; server: string; idx: number }
  | { type: 'pipeline.load'; definition: PipelineDefinition }
  | { type: 'pipeline.unload'; name: string }
  | { type: 'experiment.start'; definition: ExperimentDefinition }
  | { type: 'experiment.stop'; name: string }
  | { type: 'dataflow.engineJoined'; engine: string }
  | { type: 'dataflow.engineLeft'; engine: string }
  | { type: 'dataflow.event'; report: DataflowReport }
  | { type: 'clock.tick' }
);

/** The supervisor's state: placement of models, and the pipelines and experiments built on them. */
export interface Core {
  readonly placement: Supervisor;
  readonly pipelines: PipelineSupervisor;
}

export type CoreOptions = SupervisorOptions & Omit<PipelineSupervisorOptions, 'models'>;

/** Merges two commands' changes (models first, then what pipelines and experiments made of them). */
export function mergeChanges(a: Changes, b: Changes): Changes {
  return {
    models: [...a.models, ...b.models],
    servers: [...a.servers, ...b.servers],
    scaling: [...a.scaling, ...b.scaling],
    pipelines: [...a.pipelines, ...b.pipelines],
    experiments: [...a.experiments, ...b.experiments],
  };
}

/** Runs a placement command, then lets pipelines and experiments follow the models it changed. */
const followModels = (core: Core, changes: Changes): Changes =>
  mergeChanges(changes, core.pipelines.modelsChanged(changes.models));

function apply(core: Core, e: SupervisorEvent): Changes | { changes: Changes; models: string[] } {
  const { placement: s, pipelines: p } = core;
  switch (e.type) {
    case 'model.load':
      return followModels(core, s.loadModel(e.definition));
    case 'model.unload':
      return followModels(core, s.unloadModel(e.name, e.kubernetesMeta));
    case 'server.notify':
      return followModels(core, s.serverNotify(e.declarations));
    case 'agent.replicaJoined':
      return followModels(core, s.replicaJoined(e));
    case 'agent.replicaLeft':
      return followModels(core, s.replicaLeft(e.server, e.idx));
    case 'agent.event':
      return followModels(core, s.agentEvent(e.report));
    case 'agent.drain': {
      const { changes, models } = s.drain(e.server, e.idx);
      return { changes: followModels(core, changes), models };
    }
    case 'pipeline.load':
      return p.loadPipeline(e.definition);
    case 'pipeline.unload':
      return p.unloadPipeline(e.name);
    case 'experiment.start':
      return p.startExperiment(e.definition);
    case 'experiment.stop':
      return p.stopExperiment(e.name);
    case 'dataflow.engineJoined':
      return p.engineJoined(e.engine);
    case 'dataflow.engineLeft':
      return p.engineLeft(e.engine);
    case 'dataflow.event':
      return p.dataflowEvent(e.report);
    case 'clock.tick':
      return mergeChanges(followModels(core, s.tick().changes), p.tick());
  }
}

const NO_CHANGES: Changes = {
  models: [],
  servers: [],
  scaling: [],
  pipelines: [],
  experiments: [],
};

/** What a refused command changed before it was refused (an agent's free memory, say). */
function flush(core: Core): Changes {
  try {
    return mergeChanges(followModels(core, core.placement.flush()), core.pipelines.flush());
  } catch {
    return NO_CHANGES;
  }
}

/**
 * The supervisor actor: its mailbox takes one command at a time, so placement, pipelines and
 * experiments have a single writer. A failing command (bad input, a mismatched agent report) answers
 * with its error and leaves the actor running.
 */
export const supervisorLogic = fromTransition(
  (core: Core, event: SupervisorEvent) => {
    // XState's own events (such as the stop signal) carry no reply and change nothing.
    if (!('reply' in event)) return core;
    try {
      event.reply.outcome = { ok: true, value: apply(core, event) };
    } catch (error) {
      event.reply.outcome = { ok: false, error, changes: flush(core) };
    }
    return core;
  },
  ({ input }: { input: CoreOptions }): Core => {
    const placement = new Supervisor(input);
    return { placement, pipelines: new PipelineSupervisor({ ...input, models: placement }) };
  },
);
