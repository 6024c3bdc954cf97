/** Events of a model replica: one model version on one server replica. `at` is set by the adapter. */
export type ReplicaEvent =
  | { type: 'placement.loadRequested'; at: number }
  | { type: 'placement.unloadEnvoyRequested'; at: number }
  | { type: 'placement.unloadRequested'; at: number }
  | { type: 'agent.loadSent'; at: number }
  | { type: 'agent.loadSendFailed'; at: number; reason: string }
  | { type: 'agent.loaded'; at: number }
  | { type: 'agent.loadFailed'; at: number; reason: string }
  | { type: 'agent.unloadSent'; at: number }
  | { type: 'agent.unloadSendFailed'; at: number; reason: string }
  | { type: 'agent.unloaded'; at: number }
  | { type: 'agent.unloadFailed'; at: number; reason: string }
  | { type: 'agent.announced'; at: number }
  | { type: 'routing.ready'; at: number }
  | { type: 'routing.failed'; at: number; reason: string }
  | { type: 'routing.removed'; at: number }
  | { type: 'server.drain'; at: number }
  | { type: 'server.replicaGone'; at: number };

export interface ReplicaInput {
  model: string;
  version: number;
  server: string;
  idx: number;
}

export interface ReplicaContext extends ReplicaInput {
  reason: string;
  /** When the state last changed (ms since epoch, from the event). 0 before the first change. */
  at: number;
  /** True once the agent reported the model loaded, until it is unloaded again or fails. */
  holdsModel: boolean;
  /**
   * True from LOAD_MODEL sent until the agent answers about this version: the agent may be taking
   * the memory even if the replica has since been asked to unload, so the reservation stands.
   */
  loadInFlight: boolean;
}
