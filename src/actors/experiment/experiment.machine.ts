import { assertEvent, assign, setup } from 'xstate';
import type { ExperimentContext, ExperimentEvent, ExperimentInput } from './experiment.events.js';

type Evaluated = Extract<ExperimentEvent, { type: 'resources.evaluated' }>;

const record = {
  type: 'record',
  params: ({ event }: { event: Evaluated }) => ({
    candidatesReady: event.candidatesReady,
    mirrorReady: event.mirrorReady,
    statusDescription: event.routeError ?? 'experiment active',
  }),
} as const;

const evaluated = [
  { guard: 'routable', target: '#experiment.running.active', actions: record },
  { target: '#experiment.running.inactive', actions: record },
] as const;

/**
 * An experiment: running (active when every resource it splits traffic to can take it) until it is
 * stopped. Readiness of candidates and mirror is context, re-evaluated on every change of a
 * referenced model or pipeline (Seldon parity: store/experiment/state.go, envoy/processor).
 */
export const experimentMachine = setup({
  types: {
    context: {} as ExperimentContext,
    events: {} as ExperimentEvent,
    input: {} as ExperimentInput,
  },
  guards: {
    routable: ({ event }) => {
      assertEvent(event, 'resources.evaluated');
      return event.routeError === undefined;
    },
  },
  actions: {
    record: assign(
      (_, p: { candidatesReady: boolean; mirrorReady: boolean; statusDescription: string }) => p,
    ),
  },
}).createMachine({
  id: 'experiment',
  context: ({ input }) => ({
    ...input,
    candidatesReady: false,
    mirrorReady: false,
    statusDescription: '',
  }),
  initial: 'running',
  states: {
    running: {
      initial: 'inactive',
      on: { 'resources.evaluated': evaluated, 'experiment.stop': '#experiment.stopped' },
      states: {
        inactive: {
          description: 'Started, but some resource it routes to cannot take traffic.',
        },
        active: {
          description: 'Traffic is split across the candidates (and mirrored).',
          tags: ['active'],
        },
      },
    },
    stopped: {
      description: 'Stopped: no traffic split; still listed until its TTL. Terminal.',
      type: 'final',
    },
  },
});
