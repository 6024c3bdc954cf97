import { assign, setup } from 'xstate';
import type {
  ServerReplicaContext,
  ServerReplicaEvent,
  ServerReplicaInput,
} from './server.events.js';

/**
 * One replica of a model server, alive while its agent's Subscribe stream is open. Disconnection stops
 * the actor; draining takes it out of placement while its models move elsewhere.
 */
export const serverReplicaMachine = setup({
  types: {
    context: {} as ServerReplicaContext,
    events: {} as ServerReplicaEvent,
    input: {} as ServerReplicaInput,
  },
  actions: {
    rememberMemory: assign((_, p: { availableMemoryBytes: number; at: number }) => p),
  },
}).createMachine({
  id: 'serverReplica',
  description: 'One agent-connected replica of a model server.',
  context: ({ input }) => input,
  initial: 'connected',
  on: {
    'agent.memoryReported': {
      actions: {
        type: 'rememberMemory',
        params: ({ event }) => ({ availableMemoryBytes: event.availableMemoryBytes, at: event.at }),
      },
    },
  },
  states: {
    connected: {
      description: 'Takes new models.',
      on: { 'agent.drainRequested': 'draining' },
    },
    draining: {
      description: 'AgentDrain: excluded from placement; its models move to other replicas.',
      tags: ['draining'],
    },
  },
});
