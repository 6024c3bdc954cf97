import { assertEvent, assign, setup } from 'xstate';
import type {
  ModelVersionContext,
  ModelVersionEvent,
  ModelVersionInput,
  ReplicasChanged,
} from './model.events.js';

const anyActive = (e: ReplicasChanged) =>
  e.summary.unloading > 0 || e.summary.available > 0 || e.summary.loading > 0;

/** How a retiring version settles, shared by `active` (on retirement) and `retiring` (afterwards). */
const retire = [
  {
    guard: 'retiringWithUnloadFailure',
    target: '#modelVersion.retiring.terminateFailed',
    actions: {
      type: 'record',
      params: ({ event }: { event: ReplicasChanged }) =>
        counts(event, event.summary.unloadFailedReason),
    },
  },
  {
    guard: 'retiringWithActiveReplicas',
    target: '#modelVersion.retiring.terminating',
    actions: {
      type: 'record',
      params: ({ event }: { event: ReplicasChanged }) => counts(event, ''),
    },
  },
  {
    guard: 'retiring',
    target: '#modelVersion.retiring.terminated',
    actions: {
      type: 'record',
      params: ({ event }: { event: ReplicasChanged }) => counts(event, ''),
    },
  },
] as const;

/**
 * One version of a model: `ModelStatus.ModelState` as a statechart. The state follows the replicas
 * (`replicas.changed`) by the first matching rule; ScheduleFailed is set by placement and holds until
 * the next replica change. Seldon parity: scheduler/pkg/store/memory_status.go.
 */
export const modelVersionMachine = setup({
  types: {
    context: {} as ModelVersionContext,
    events: {} as ModelVersionEvent,
    input: {} as ModelVersionInput,
  },
  // Every guard judges a `replicas.changed` (XState's assertEvent says so, and narrows it).
  guards: {
    retiringWithUnloadFailure: ({ event }) => {
      assertEvent(event, 'replicas.changed');
      return event.retiring && event.summary.unloadFailed > 0;
    },
    retiringWithActiveReplicas: ({ event }) => {
      assertEvent(event, 'replicas.changed');
      return event.retiring && anyActive(event);
    },
    retiring: ({ event }) => {
      assertEvent(event, 'replicas.changed');
      return event.retiring;
    },
    anyReplicaFailed: ({ event }) => {
      assertEvent(event, 'replicas.changed');
      return event.summary.failed > 0;
    },
    enoughAvailable: ({ event }) => {
      assertEvent(event, 'replicas.changed');
      return (
        event.replicas !== undefined &&
        (event.summary.available === event.replicas ||
          (event.minReplicas > 0 && event.summary.available >= event.minReplicas))
      );
    },
    // Differs from Seldon, which takes one Available replica: a rolling update never reports a
    // version Available below the minReplicas its user asked for.
    servingWhileOtherVersionAvailable: ({ event }) => {
      assertEvent(event, 'replicas.changed');
      return (
        event.summary.available >= Math.max(1, event.minReplicas) && event.otherVersionAvailable
      );
    },
  },
  actions: {
    record: assign(
      (
        _,
        p: { at: number; reason: string; availableReplicas: number; unavailableReplicas: number },
      ) => p,
    ),
  },
}).createMachine({
  id: 'modelVersion',
  description: 'One version of a model (ModelStatus.ModelState).',
  context: ({ input }) => ({
    ...input,
    reason: '',
    availableReplicas: 0,
    unavailableReplicas: 0,
    at: 0,
  }),
  initial: 'active',
  states: {
    active: {
      description: 'The latest version of a live model: its state follows its replicas.',
      initial: 'unknown',
      on: {
        'replicas.changed': [
          ...retire,
          {
            guard: 'anyReplicaFailed',
            target: '.failed',
            actions: {
              type: 'record',
              params: ({ event }) => counts(event, event.summary.failedReason),
            },
          },
          {
            guard: 'enoughAvailable',
            target: '.available',
            actions: { type: 'record', params: ({ event }) => counts(event, '') },
          },
          {
            guard: 'servingWhileOtherVersionAvailable',
            target: '.available',
            description:
              'Rolling update: max(1, minReplicas) replicas serve while an older version is available.',
            actions: { type: 'record', params: ({ event }) => counts(event, '') },
          },
          {
            target: '.progressing',
            actions: { type: 'record', params: ({ event }) => counts(event, '') },
          },
        ],
        'placement.failed': {
          target: '.scheduleFailed',
          actions: {
            type: 'record',
            params: ({ event }) => ({
              at: event.at,
              reason: event.reason,
              availableReplicas: event.availableReplicas,
              unavailableReplicas: event.unavailableReplicas,
            }),
          },
        },
      },
      states: {
        unknown: { description: 'Created; placement has not recorded anything yet.' },
        progressing: { description: 'Replicas are being placed or loaded.' },
        available: { description: 'Enough replicas are Available.', tags: ['available'] },
        failed: { description: 'A replica failed to load (or lost its route).' },
        scheduleFailed: {
          description: 'No server or not enough replicas fit; placed replicas keep serving.',
        },
      },
    },
    retiring: {
      description: 'Deleted or superseded: the version only winds down.',
      initial: 'terminating',
      on: { 'replicas.changed': retire },
      states: {
        terminating: { description: 'Replicas are being unloaded.' },
        terminateFailed: { description: 'An agent could not unload a replica.' },
        terminated: { description: 'Nothing is loaded any more.', type: 'final' },
      },
    },
  },
});

function counts(e: ReplicasChanged, reason: string) {
  return {
    at: e.at,
    reason,
    availableReplicas: e.summary.available,
    unavailableReplicas: e.summary.loading + e.summary.failed,
  };
}
