import type { Changes } from '../gateways.js';

/**
 * What changed during one command, collected as the command runs and taken when it has settled.
 * Both supervisors keep one; each fills the parts it owns.
 */
export class ChangeSet {
  readonly models = new Set<string>();
  readonly servers = new Set<string>();
  /** Scale requests decided during the command, by server. */
  readonly scaling = new Map<string, number>();
  readonly experiments = new Set<string>();
  /** Pipeline versions whose state, reason or modelsReady changed, by `name:version`. */
  private readonly pipelines = new Map<string, { name: string; version: number }>();

  pipeline(name: string, version: number): void {
    this.pipelines.set(`${name}:${version}`, { name, version });
  }

  /** What changed since the last take; the set starts empty again. */
  take(): Changes {
    const changes: Changes = {
      models: [...this.models],
      servers: [...this.servers],
      scaling: [...this.scaling].map(([server, expectedReplicas]) => ({
        server,
        expectedReplicas,
      })),
      pipelines: [...this.pipelines.values()],
      experiments: [...this.experiments],
    };
    this.models.clear();
    this.servers.clear();
    this.scaling.clear();
    this.pipelines.clear();
    this.experiments.clear();
    return changes;
  }
}

export const NO_CHANGES: Changes = {
  models: [],
  servers: [],
  scaling: [],
  pipelines: [],
  experiments: [],
};

/** Merges two steps' changes (models first, then what pipelines and experiments made of them). */
export function mergeChanges(a: Changes, b: Changes): Changes {
  return {
    models: [...a.models, ...b.models],
    servers: [...a.servers, ...b.servers],
    scaling: [...a.scaling, ...b.scaling],
    pipelines: [...a.pipelines, ...b.pipelines],
    experiments: [...a.experiments, ...b.experiments],
  };
}
