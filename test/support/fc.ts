/**
 * fast-check parameters from the environment, shared by the property tests:
 * FC_NUM_RUNS scales the runs (default `runs`); FC_SEED and FC_PATH replay the counterexample a failure
 * printed (`seed: …, path: "…"`).
 */
import type { Parameters } from 'fast-check';

export function fcParams<T>(runs = 100): Parameters<T> {
  const env = process.env;
  const p: Parameters<T> = {
    numRuns: Number(env['FC_NUM_RUNS'] ?? runs),
    // The failure itself goes into the report: node's runner does not print an error's cause.
    includeErrorInReport: true,
  };
  if (env['FC_SEED'] !== undefined) p.seed = Number(env['FC_SEED']);
  if (env['FC_PATH'] !== undefined) p.path = env['FC_PATH'];
  return p;
}

/** The `replayPath` option of fc.commands, from FC_REPLAY. */
export function replayPath(): { replayPath?: string } {
  const p = process.env['FC_REPLAY'];
  return p === undefined ? {} : { replayPath: p };
}
