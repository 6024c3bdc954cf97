import { assertEvent, assign, setup } from 'xstate';
import { UNDECLARED_REPLICAS } from '../../domain/server.js';
import type { ServerContext, ServerEvent } from './server.events.js';

type Declared = Extract<ServerEvent, { type: 'operator.declared' }>;

/** ServerNotify, in any state but removed: the declaration overwrites the server's. */
const declare = {
  description: 'ServerNotify: expected/min/max replicas and Kubernetes meta are overwritten.',
  actions: {
    type: 'declare',
    params: ({ context, event }: { context: ServerContext; event: Declared }) => ({
      ...event.declaration,
      name: context.name,
      // Seldon parity: `shared` is only taken from ServerNotify when the server is created.
      shared: context.shared,
      at: event.at,
    }),
  },
} as const;

/**
 * A model server: what the operator declared (ServerNotify) and whether any replica is connected.
 * Seldon parity: scheduler/pkg/store/memory.go ServerNotify, AddServerReplica, RemoveServerReplica.
 */
export const serverMachine = setup({
  types: {
    context: {} as ServerContext,
    events: {} as ServerEvent,
    input: {} as { name: string; shared: boolean; at: number },
  },
  guards: {
    lastReplicaLeft: ({ event }) => {
      assertEvent(event, 'agent.replicaLeft');
      return event.remaining === 0;
    },
  },
  actions: {
    declare: assign((_, p: ServerContext) => p),
    setShared: assign((_, p: { shared: boolean; at: number }) => p),
  },
}).createMachine({
  id: 'server',
  description: 'A model server (declared by the operator, served by agent replicas).',
  context: ({ input }) => ({
    name: input.name,
    expectedReplicas: UNDECLARED_REPLICAS,
    minReplicas: 0,
    maxReplicas: 0,
    shared: input.shared,
    at: input.at,
  }),
  initial: 'declared',
  states: {
    declared: {
      description: 'Known (from ServerNotify) but no replica is connected.',
      on: {
        'operator.declared': declare,
        'agent.replicaJoined': {
          target: 'serving',
          actions: {
            type: 'setShared',
            params: ({ event }) => ({ shared: event.shared, at: event.at }),
          },
        },
      },
    },
    serving: {
      description: 'At least one replica is connected.',
      on: {
        'operator.declared': declare,
        'agent.replicaJoined': {
          actions: {
            type: 'setShared',
            params: ({ event }) => ({ shared: event.shared, at: event.at }),
          },
        },
        'agent.replicaLeft': { guard: 'lastReplicaLeft', target: 'removed' },
      },
    },
    removed: {
      description: 'Its last replica disconnected: the server is forgotten.',
      type: 'final',
    },
  },
});
