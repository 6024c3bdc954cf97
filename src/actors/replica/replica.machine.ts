import { assign, setup } from 'xstate';
import type { ReplicaContext, ReplicaEvent, ReplicaInput } from './replica.events.js';

/**
 * One model version on one server replica: `ModelReplicaStatus.ModelReplicaState` as a statechart.
 * Seldon parity: the replica transition table of scheduler/pkg/store (memory.go, mesh.go).
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
      actions: [{ type: 'stamp', params: ({ event }) => ({ at: event.at }) }, 'markHolding'],
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
      description: 'No entry yet (ModelReplicaStateUnknown).',
      on: {
        'server.replicaGone': {},
        'placement.loadRequested': {
          target: 'loadRequested',
          actions: { type: 'stamp', params: ({ event }) => ({ at: event.at }) },
        },
      },
    },
    loadRequested: {
      description: 'Placement chose this replica; memory is reserved until the agent reports.',
      on: {
        'agent.loadSent': {
          target: 'loading',
          actions: [{ type: 'stamp', params: ({ event }) => ({ at: event.at }) }, 'markInFlight'],
        },
        'agent.loadSendFailed': {
          target: 'loadFailed',
          actions: {
            type: 'stamp',
            params: ({ event }) => ({ at: event.at, reason: event.reason }),
          },
        },
        'placement.loadRequested': {
          target: 'loadRequested',
          actions: { type: 'stamp', params: ({ event }) => ({ at: event.at }) },
        },
        'placement.unloadEnvoyRequested': {
          target: 'unloaded',
          description:
            'Dropped before the agent heard of it: nothing to unload, reservation released.',
          actions: { type: 'stamp', params: ({ event }) => ({ at: event.at }) },
        },
        'placement.unloadRequested': {
          target: 'unloaded',
          description:
            'Dropped before the agent heard of it: nothing to unload, reservation released.',
          actions: { type: 'stamp', params: ({ event }) => ({ at: event.at }) },
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
      description: 'The agent was sent LOAD_MODEL.',
      on: {
        'agent.loaded': {
          target: 'loaded',
          actions: [{ type: 'stamp', params: ({ event }) => ({ at: event.at }) }, 'markHolding'],
        },
        'agent.loadFailed': {
          target: 'loadFailed',
          actions: [
            { type: 'stamp', params: ({ event }) => ({ at: event.at, reason: event.reason }) },
            'markAnswered',
          ],
        },
        'placement.unloadEnvoyRequested': '#modelReplica.unloadEnvoyRequested',
        'placement.unloadRequested': '#modelReplica.unloadRequested',
        'server.drain': '#modelReplica.draining',
      },
    },
    loaded: {
      description: 'The agent loaded it; waiting for the routing step to make it Available.',
      on: {
        'routing.ready': {
          target: 'available',
          actions: { type: 'stamp', params: ({ event }) => ({ at: event.at }) },
        },
        'routing.failed': {
          target: 'loadedUnavailable',
          actions: {
            type: 'stamp',
            params: ({ event }) => ({ at: event.at, reason: event.reason }),
          },
        },
        'placement.unloadEnvoyRequested': '#modelReplica.unloadEnvoyRequested',
        'placement.unloadRequested': '#modelReplica.unloadRequested',
        'server.drain': '#modelReplica.draining',
      },
    },
    available: {
      description: 'Loaded and receiving traffic.',
      on: {
        'routing.failed': {
          target: 'loadedUnavailable',
          actions: {
            type: 'stamp',
            params: ({ event }) => ({ at: event.at, reason: event.reason }),
          },
        },
        'placement.unloadEnvoyRequested': '#modelReplica.unloadEnvoyRequested',
        'placement.unloadRequested': '#modelReplica.unloadRequested',
        'server.drain': '#modelReplica.draining',
      },
    },
    loadedUnavailable: {
      description: 'Loaded, but the routing step could not route traffic to it.',
      on: {
        'routing.ready': {
          target: 'available',
          actions: { type: 'stamp', params: ({ event }) => ({ at: event.at }) },
        },
        'placement.unloadEnvoyRequested': '#modelReplica.unloadEnvoyRequested',
        'placement.unloadRequested': '#modelReplica.unloadRequested',
        'server.drain': '#modelReplica.draining',
      },
    },
    loadFailed: {
      description: 'The agent could not load it (or the op could not be sent).',
      entry: 'markEmpty',
      on: {
        'placement.loadRequested': {
          target: 'loadRequested',
          description: 'A retry chose this replica again.',
          actions: { type: 'stamp', params: ({ event }) => ({ at: event.at }) },
        },
        'placement.unloadEnvoyRequested': '#modelReplica.unloadEnvoyRequested',
        'placement.unloadRequested': '#modelReplica.unloadRequested',
      },
    },
    unloadEnvoyRequested: {
      description: 'Dropped from the chosen set; traffic is being taken away first.',
      entry: { type: 'stamp', params: ({ event }) => ({ at: event.at }) },
      on: {
        'routing.removed': {
          target: 'unloadRequested',
          actions: { type: 'stamp', params: ({ event }) => ({ at: event.at }) },
        },
        'placement.loadRequested': {
          target: 'loadRequested',
          actions: { type: 'stamp', params: ({ event }) => ({ at: event.at }) },
        },
        'placement.unloadRequested': '#modelReplica.unloadRequested',
      },
    },
    unloadRequested: {
      description: 'No traffic any more; UNLOAD_MODEL is due to the agent.',
      entry: { type: 'stamp', params: ({ event }) => ({ at: event.at }) },
      on: {
        'agent.unloadSent': {
          target: 'unloading',
          actions: { type: 'stamp', params: ({ event }) => ({ at: event.at }) },
        },
        'agent.unloadSendFailed': {
          target: 'unloadFailed',
          actions: {
            type: 'stamp',
            params: ({ event }) => ({ at: event.at, reason: event.reason }),
          },
        },
        'placement.loadRequested': {
          target: 'loadRequested',
          actions: { type: 'stamp', params: ({ event }) => ({ at: event.at }) },
        },
      },
    },
    unloading: {
      description: 'The agent was sent UNLOAD_MODEL.',
      on: {
        'agent.unloaded': {
          target: 'unloaded',
          actions: [{ type: 'stamp', params: ({ event }) => ({ at: event.at }) }, 'markAnswered'],
        },
        'agent.unloadFailed': {
          target: 'unloadFailed',
          actions: [
            { type: 'stamp', params: ({ event }) => ({ at: event.at, reason: event.reason }) },
            'markAnswered',
          ],
        },
        'placement.loadRequested': {
          target: 'loadRequested',
          actions: { type: 'stamp', params: ({ event }) => ({ at: event.at }) },
        },
      },
    },
    unloaded: {
      description: 'Unloaded; the entry stays listed.',
      entry: 'markEmpty',
      on: {
        'server.replicaGone': {},
        'placement.loadRequested': {
          target: 'loadRequested',
          actions: { type: 'stamp', params: ({ event }) => ({ at: event.at }) },
        },
      },
    },
    unloadFailed: {
      description: 'The agent could not unload it.',
      on: {
        'placement.loadRequested': {
          target: 'loadRequested',
          actions: { type: 'stamp', params: ({ event }) => ({ at: event.at }) },
        },
        'placement.unloadEnvoyRequested': '#modelReplica.unloadEnvoyRequested',
        'placement.unloadRequested': '#modelReplica.unloadRequested',
      },
    },
    draining: {
      description: 'Its server replica is draining: it keeps serving until the replica leaves.',
      entry: { type: 'stamp', params: ({ event }) => ({ at: event.at }) },
      on: {
        'placement.unloadRequested': '#modelReplica.unloadRequested',
      },
    },
  },
});
