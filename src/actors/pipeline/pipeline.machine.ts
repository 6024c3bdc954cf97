import { assertEvent, assign, setup, type SnapshotFrom } from 'xstate';
import type { PipelineState } from '../../domain/pipeline.js';
import type {
  PipelineVersionContext,
  PipelineVersionEvent,
  PipelineVersionInput,
} from './pipeline.events.js';

/** modelsReady follows the step models until the version is terminated. */
const followModels = {
  actions: {
    type: 'setModelsReady',
    params: ({ event }: { event: { ready: boolean } }) => ({ ready: event.ready }),
  },
} as const;

const note = {
  type: 'note',
  params: ({ event }: { event: { at: number; reason: string } }) => ({
    at: event.at,
    reason: event.reason,
  }),
} as const;

/** How a running version follows the engines' answers to the current create. */
const reported = [
  { guard: 'allReady', target: '#pipelineVersion.live.ready', actions: note },
  { guard: 'allFailed', target: '#pipelineVersion.live.failed', actions: note },
  { target: '#pipelineVersion.live.creating', actions: note },
] as const;

/**
 * One version of a pipeline: `PipelineVersionState.PipelineStatus` as a statechart, driven by the
 * dataflow engines' answers (Seldon parity: scheduler/pkg/kafka/dataflow/server.go). `modelsReady`
 * follows the step models in every state.
 */
export const pipelineVersionMachine = setup({
  types: {
    context: {} as PipelineVersionContext,
    events: {} as PipelineVersionEvent,
    input: {} as PipelineVersionInput,
  },
  guards: {
    allReady: ({ event }) => {
      assertEvent(event, 'dataflow.reported');
      return event.outcome === 'ready';
    },
    allFailed: ({ event }) => {
      assertEvent(event, 'dataflow.reported');
      return event.outcome === 'failed';
    },
  },
  actions: {
    note: assign((_, p: { at: number; reason: string }) => ({ at: p.at, reason: p.reason })),
    setModelsReady: assign((_, p: { ready: boolean }) => ({ modelsReady: p.ready })),
  },
}).createMachine({
  id: 'pipelineVersion',
  context: ({ input }) => ({ ...input, reason: '' }),
  initial: 'live',
  states: {
    live: {
      description: 'Loaded and meant to run on a dataflow engine.',
      initial: 'create',
      on: {
        'dataflow.createSent': { target: '.creating', actions: note },
        'dataflow.unavailable': { target: '.create', actions: note },
        'pipeline.unload': { target: 'retiring', actions: note },
        'models.changed': followModels,
      },
      states: {
        create: {
          description: 'Waiting to be sent to a dataflow engine (none may be connected).',
        },
        creating: {
          description: 'Sent to its engine; waiting for the acknowledgement.',
          on: { 'dataflow.reported': reported },
        },
        ready: {
          description: 'The engine runs its dataflow.',
          on: { 'dataflow.reported': reported },
        },
        failed: {
          description:
            'Every engine asked failed to create it; retried later while it is the latest.',
        },
      },
    },
    retiring: {
      description: 'Unloaded, or replaced by a newer ready version.',
      initial: 'terminate',
      states: {
        terminate: {
          description: 'Its delete is not sent to the engines yet.',
          on: {
            'dataflow.deleteSent': {
              target: 'terminating',
              actions: { type: 'note', params: ({ event }) => ({ at: event.at, reason: '' }) },
            },
            'dataflow.unavailable': { target: 'terminated', actions: note },
            'pipeline.unload': { actions: note },
            'models.changed': followModels,
          },
        },
        terminating: {
          description: 'Its engines were told to delete it; waiting for their acknowledgement.',
          on: {
            'dataflow.deleted': { target: 'terminated', actions: note },
            'models.changed': followModels,
            'dataflow.unavailable': { target: 'terminated', actions: note },
            'dataflow.deleteSent': {
              actions: { type: 'note', params: ({ event }) => ({ at: event.at, reason: '' }) },
            },
          },
        },
        terminated: {
          description: 'Gone from every engine. Terminal.',
          type: 'final',
        },
      },
    },
  },
});

/** The version's state as the proto enum names it (the leaf of the statechart). */
export function pipelineStateOf(
  snap: Pick<SnapshotFrom<typeof pipelineVersionMachine>, 'value'>,
): PipelineState {
  const v = snap.value;
  return 'live' in v ? v.live : v.retiring;
}
