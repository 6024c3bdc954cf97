import { fromTransition } from 'xstate';
import type { ModelDefinition } from '../../domain/model.js';
import type { ServerDeclaration } from '../../domain/server.js';
import type { Changes } from '../gateways.js';
import { Supervisor, type SupervisorOptions } from './supervisor.js';
import type { AgentReport, ReplicaJoin } from './views.js';

/** Where the supervisor leaves a command's outcome for the caller that sent it. */
export interface Reply {
  outcome?: { ok: true; value: unknown } | { ok: false; error: unknown };
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
  | { type: 'clock.tick' }
);

function apply(
  s: Supervisor,
  e: SupervisorEvent,
): Changes | { changes: Changes; models: string[] } {
  switch (e.type) {
    case 'model.load':
      return s.loadModel(e.definition);
    case 'model.unload':
      return s.unloadModel(e.name, e.kubernetesMeta);
    case 'server.notify':
      return s.serverNotify(e.declarations);
    case 'agent.replicaJoined':
      return s.replicaJoined(e);
    case 'agent.replicaLeft':
      return s.replicaLeft(e.server, e.idx);
    case 'agent.event':
      return s.agentEvent(e.report);
    case 'agent.drain':
      return s.drain(e.server, e.idx);
    case 'clock.tick':
      return s.tick().changes;
  }
}

/**
 * The supervisor actor: its mailbox takes one command at a time, so placement has a single writer.
 * A failing command (bad input, a mismatched agent report) answers with its error and leaves the
 * actor running.
 */
export const supervisorLogic = fromTransition(
  (supervisor: Supervisor, event: SupervisorEvent) => {
    // XState's own events (such as the stop signal) carry no reply and change nothing.
    if (!('reply' in event)) return supervisor;
    try {
      event.reply.outcome = { ok: true, value: apply(supervisor, event) };
    } catch (error) {
      event.reply.outcome = { ok: false, error };
    }
    return supervisor;
  },
  ({ input }: { input: SupervisorOptions }) => new Supervisor(input),
);
