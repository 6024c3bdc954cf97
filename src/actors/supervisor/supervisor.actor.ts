import { fromTransition } from 'xstate';
import type { Changes } from '../gateways.js';
import { mergeChanges, NO_CHANGES } from './changes.js';
import { isCommand, runCommand, type Command, type Outcome } from './commands.js';
import { createCore, followModels, type Core, type CoreOptions } from './core.js';
import { finish as finishModels } from './models/settling.js';
import { finish as finishPipelines } from './pipelines/experiments.js';

/** The actor's snapshot: the core, and the last command's outcome for the caller that sent it. */
export interface SupervisorState {
  readonly core: Core;
  readonly last: Outcome | undefined;
}

/** What a refused command changed before it was refused (an agent's free memory, say). */
function flush(core: Core): Changes {
  try {
    return mergeChanges(
      followModels(core, finishModels(core.models)),
      finishPipelines(core.pipelines),
    );
  } catch {
    return NO_CHANGES;
  }
}

/**
 * The supervisor actor: its mailbox takes one command at a time, so placement, pipelines and
 * experiments have a single writer. A failing command (bad input, a mismatched agent report) leaves
 * its error as the outcome and the actor running.
 */
export const supervisorLogic = fromTransition(
  (state: SupervisorState, event: Command | { type: string }): SupervisorState => {
    // XState's own events (such as the stop signal) are no commands and change nothing.
    if (!isCommand(event)) return state;
    const { core } = state;
    try {
      return { core, last: runCommand(core, event) };
    } catch (error) {
      return { core, last: { ok: false, error, changes: flush(core) } };
    }
  },
  ({ input }: { input: CoreOptions }): SupervisorState => ({
    core: createCore(input),
    last: undefined,
  }),
);
