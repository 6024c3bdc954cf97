import { assign, setup } from 'xstate';
import type {
  PipelineVersionContext,
  PipelineVersionEvent,
  PipelineVersionInput,
} from './pipeline.events.js';

type Ev<T extends PipelineVersionEvent['type']> = Extract<PipelineVersionEvent, { type: T }>;

const note = {
  type: 'note',
  params: ({ event }: { event: { at: number; reason: string } }) => ({
    at: event.at,
    reason: event.reason,
  }),
} as const;

/** How a running version follows the engines' answers to the current create. */
const reported = [
  { guard: 'allReady', target: '#pipelineVersion.ready', actions: note },
  { guard: 'allFailed', target: '#pipelineVersion.failed', actions: note },
  { target: '#pipelineVersion.creating', actions: note },
] as const;

/** Transitions shared by every state in which the version runs (or should run) on an engine. */
const running = {
  'dataflow.createSent': { target: '#pipelineVersion.creating', actions: note },
  'dataflow.reported': reported,
  'dataflow.unavailable': { target: '#pipelineVersion.create', actions: note },
  'pipeline.unload': { target: '#pipelineVersion.terminate', actions: note },
} as const;

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
    allReady: ({ event }) => (event as Ev<'dataflow.reported'>).outcome === 'ready',
    allFailed: ({ event }) => (event as Ev<'dataflow.reported'>).outcome === 'failed',
  },
  actions: {
    note: assign((_, p: { at: number; reason: string }) => ({ at: p.at, reason: p.reason })),
    setModelsReady: assign((_, p: { ready: boolean }) => ({ modelsReady: p.ready })),
  },
}).createMachine({
  id: 'pipelineVersion',
  context: ({ input }) => ({ ...input, reason: '' }),
  initial: 'create',
  on: {
    'models.changed': {
      actions: {
        type: 'setModelsReady',
        params: ({ event }) => ({ ready: event.ready }),
      },
    },
  },
  states: {
    create: {
      description: 'Loaded; waiting to be sent to a dataflow engine (none may be connected).',
      on: running,
    },
    creating: {
      description: 'Sent to its engine; waiting for the acknowledgement.',
      on: running,
    },
    ready: {
      description: 'The engine runs its dataflow.',
      on: running,
    },
    failed: {
      description: 'Every engine asked failed to create it; retried later while it is the latest.',
      on: running,
    },
    terminate: {
      description: 'Unloaded, or replaced by a newer ready version; its delete is not sent yet.',
      on: {
        'dataflow.deleteSent': {
          target: 'terminating',
          actions: { type: 'note', params: ({ event }) => ({ at: event.at, reason: '' }) },
        },
        'dataflow.unavailable': { target: 'terminated', actions: note },
        'pipeline.unload': { actions: note },
      },
    },
    terminating: {
      description: 'Its engines were told to delete it; waiting for their acknowledgement.',
      on: {
        'dataflow.deleted': { target: 'terminated', actions: note },
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
});
