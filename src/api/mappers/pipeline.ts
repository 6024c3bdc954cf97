import type { PipelineVersionView, PipelineView } from '../../actors/index.js';
import type { PipelineState } from '../../domain/pipeline.js';
import {
  PipelineVersionState_PipelineStatus as ProtoPipelineStatus,
  type PipelineStatusResponse,
  type PipelineVersionState,
  type PipelineWithState,
} from '../../gen/mlops/scheduler/scheduler.js';
import { pipelineToProto } from '../../wire/pipeline.js';

/** The one place pipeline states become proto enum values. */
export function pipelineStateToProto(s: PipelineState): ProtoPipelineStatus {
  switch (s) {
    case 'create':
      return ProtoPipelineStatus.PipelineCreate;
    case 'creating':
      return ProtoPipelineStatus.PipelineCreating;
    case 'ready':
      return ProtoPipelineStatus.PipelineReady;
    case 'failed':
      return ProtoPipelineStatus.PipelineFailed;
    case 'terminate':
      return ProtoPipelineStatus.PipelineTerminate;
    case 'terminating':
      return ProtoPipelineStatus.PipelineTerminating;
    case 'terminated':
      return ProtoPipelineStatus.PipelineTerminated;
  }
}

function stateToProto(v: PipelineVersionView): PipelineVersionState {
  const state: PipelineVersionState = {
    pipelineVersion: v.version,
    status: pipelineStateToProto(v.state),
    reason: v.reason,
    modelsReady: v.modelsReady,
  };
  if (v.lastChangeAt > 0) state.lastChangeTimestamp = new Date(v.lastChangeAt);
  return state;
}

const versionToProto = (v: PipelineVersionView): PipelineWithState => ({
  pipeline: pipelineToProto(v.definition, v.version, v.uid),
  state: stateToProto(v),
});

/** One PipelineStatus message: the view's versions in the view's order (ascending). */
export function pipelineStatusToProto(view: PipelineView): PipelineStatusResponse {
  return { pipelineName: view.name, versions: view.versions.map(versionToProto) };
}
