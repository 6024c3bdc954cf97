import { assign, setup } from 'xstate';
import type { ReplicaContext, ReplicaEvent, ReplicaInput } from './replica.events.js';

/** Records the time of the event that moved the replica. */
const stampAt = {
  type: 'stamp',
  params: ({ event }: { event: ReplicaEvent }) => ({ at: event.at }),
} as const;

/** Placement (or a retry) chose this replica: from any state that holds nothing loaded. */
const toLoadRequested = { target: '#modelReplica.loadRequested', actions: stampAt } as const;

/** A loaded (or loading) replica is dropped from the chosen set, retired, or its server drains. */
const leaveOrDrain = {
  'placement.unloadEnvoyRequested': '#modelReplica.unloadEnvoyRequested',
  'placement.unloadRequested': '#modelReplica.unloadRequested',
  'server.drain': '#modelReplica.draining',
} as const;

/** The routing step could not route traffic to a loaded replica. */
const toLoadedUnavailable = {
  target: '#modelReplica.loadedUnavailable',
  actions: {
    type: 'stamp',
    params: ({ event }: { event: { at: number; reason: string } }) => ({
      at: event.at,
      reason: event.reason,
    }),
  },
} as const;

/**
 * One model version on one server replica: `ModelReplicaStatus.ModelReplicaState` as a statechart.
 * Seldon parity: the replica transition table of scheduler/pkg/store (memory.go, mesh.go).
 *
 * Its tags group the states the scheduler asks about:
 * - `placed`: placement keeps the replica (asked to load, loading or loaded);
 * - `onReplica`: the version is on this replica for now: placed, or draining until it moves;
 * - `loadSent`: its agent has been told to load it (loading or loaded), so it occupies the memory;
 * - `reservesMemory`: memory is promised to a load the agent has not reported yet;
 * - `serving`: it can receive traffic (loaded, or draining while its replacement comes up);
 * - `leaving`: on its way out, or gone (unloads asked, unloading, unloaded, never placed);
 * - `inactive`: it holds nothing and expects nothing from its agent.
 */
export const replicaMachine = setup({
  types: {
    context: {} as ReplicaContext,
    events: {} as ReplicaEvent,
    input: {} as ReplicaInput,
  },
  actions: {
    stamp: assign((_, p: { at: number; reason?: string }) => ({
      at: p.at,
      reason: p.reason ?? '',
    })),
    markHolding: assign({ holdsModel: true, loadInFlight: false }),
    markEmpty: assign({ holdsModel: false }),
    markInFlight: assign({ loadInFlight: true }),
    markAnswered: assign({ loadInFlight: false }),
  },
}).createMachine({
  id: 'modelReplica',
  description: 'One model version on one server replica (ModelReplicaStatus.ModelReplicaState).',
  context: ({ input }) => ({ ...input, reason: '', at: 0, holdsModel: false, loadInFlight: false }),
  initial: 'unknown',
  on: {
    'agent.announced': {
      target: '.loaded',
      description: 'The agent re-announced this version as loaded when it (re)subscribed.',
      actions: [stampAt, 'markHolding'],
    },
    'server.replicaGone': {
      target: '.unloaded',
      description: 'Its server replica disconnected while this version was retiring.',
      actions: [
        {
          type: 'stamp',
          params: ({ event }) => ({
            at: event.at,
            reason: 'model is removed when server replica was removed',
          }),
        },
        'markAnswered',
      ],
    },
  },
  states: {
    unknown: {
      tags: ['leaving', 'inactive'],
      description: 'No entry yet (ModelReplicaStateUnknown).',
      on: {
        'server.replicaGone': {},
        'placement.loadRequested': toLoadRequested,
      },
    },
    loadRequested: {
      tags: ['placed', 'onReplica', 'reservesMemory'],
      description: 'Placement chose this replica; memory is reserved until the agent reports.',
      on: {
        'agent.loadSent': {
          target: 'loading',
          actions: [stampAt, 'markInFlight'],
        },
        'agent.loadSendFailed': {
          target: 'loadFailed',
          actions: {
            type: 'stamp',
            params: ({ event }) => ({ at: event.at, reason: event.reason }),
          },
        },
        'placement.loadRequested': toLoadRequested,
        'placement.unloadEnvoyRequested': {
          target: 'unloaded',
          description:
            'Dropped before the agent heard of it: nothing to unload, reservation released.',
          actions: stampAt,
        },
        'placement.unloadRequested': {
          target: 'unloaded',
          description:
            'Dropped before the agent heard of it: nothing to unload, reservation released.',
          actions: stampAt,
        },
        'server.drain': {
          target: 'unloaded',
          description: 'The replica drains before the load was sent: the load is cancelled.',
          actions: {
            type: 'stamp',
            params: ({ event }) => ({ at: event.at, reason: 'server replica is draining' }),
          },
        },
      },
    },
    loading: {
      tags: ['placed', 'onReplica', 'loadSent', 'reservesMemory'],
      description: 'The agent was sent LOAD_MODEL.',
      on: {
        'agent.loaded': {
          target: 'loaded',
          actions: [stampAt, 'markHolding'],
        },
        'agent.loadFailed': {
          target: 'loadFailed',
          actions: [
            { type: 'stamp', params: ({ event }) => ({ at: event.at, reason: event.reason }) },
            'markAnswered',
          ],
        },
        ...leaveOrDrain,
      },
    },
    loaded: {
      tags: ['placed', 'onReplica', 'loadSent', 'serving'],
      description: 'The agent loaded it; waiting for the routing step to make it Available.',
      on: {
        'routing.ready': {
          target: 'available',
          actions: stampAt,
        },
        'routing.failed': toLoadedUnavailable,
        ...leaveOrDrain,
      },
    },
    available: {
      tags: ['placed', 'onReplica', 'loadSent', 'serving'],
      description: 'Loaded and receiving traffic.',
      on: {
        'routing.failed': toLoadedUnavailable,
        ...leaveOrDrain,
      },
    },
    loadedUnavailable: {
      tags: ['placed', 'onReplica', 'loadSent', 'serving'],
      description: 'Loaded, but the routing step could not route traffic to it.',
      on: {
        'routing.ready': {
          target: 'available',
          actions: stampAt,
        },
        ...leaveOrDrain,
      },
    },
    loadFailed: {
      tags: ['inactive'],
      description: 'The agent could not load it (or the op could not be sent).',
      entry: 'markEmpty',
      on: {
        'placement.loadRequested': toLoadRequested,
        'placement.unloadEnvoyRequested': '#modelReplica.unloadEnvoyRequested',
        'placement.unloadRequested': '#modelReplica.unloadRequested',
      },
    },
    unloadEnvoyRequested: {
      tags: ['leaving'],
      description: 'Dropped from the chosen set; traffic is being taken away first.',
      entry: stampAt,
      on: {
        'routing.removed': {
          target: 'unloadRequested',
          actions: stampAt,
        },
        'placement.loadRequested': toLoadRequested,
      },
    },
    unloadRequested: {
      tags: ['leaving'],
      description: 'No traffic any more; UNLOAD_MODEL is due to the agent.',
      entry: stampAt,
      on: {
        'agent.unloadSent': {
          target: 'unloading',
          actions: stampAt,
        },
        'agent.unloadSendFailed': {
          target: 'unloadFailed',
          actions: {
            type: 'stamp',
            params: ({ event }) => ({ at: event.at, reason: event.reason }),
          },
        },
        'placement.loadRequested': toLoadRequested,
      },
    },
    unloading: {
      tags: ['leaving'],
      description: 'The agent was sent UNLOAD_MODEL.',
      on: {
        'agent.unloaded': {
          target: 'unloaded',
          actions: [stampAt, 'markAnswered'],
        },
        'agent.unloadFailed': {
          target: 'unloadFailed',
          actions: [
            { type: 'stamp', params: ({ event }) => ({ at: event.at, reason: event.reason }) },
            'markAnswered',
          ],
        },
        'placement.loadRequested': toLoadRequested,
      },
    },
    unloaded: {
      tags: ['leaving', 'inactive'],
      description: 'Unloaded; the entry stays listed.',
      entry: 'markEmpty',
      on: {
        'server.replicaGone': {},
        'placement.loadRequested': toLoadRequested,
      },
    },
    unloadFailed: {
      tags: ['inactive'],
      description: 'The agent could not unload it.',
      on: {
        'placement.loadRequested': toLoadRequested,
        'placement.unloadEnvoyRequested': '#modelReplica.unloadEnvoyRequested',
        'placement.unloadRequested': '#modelReplica.unloadRequested',
      },
    },
    draining: {
      tags: ['onReplica', 'serving'],
      description: 'Its server replica is draining: it keeps serving until the replica leaves.',
      entry: stampAt,
      on: {
        'placement.unloadRequested': '#modelReplica.unloadRequested',
      },
    },
  },
});
