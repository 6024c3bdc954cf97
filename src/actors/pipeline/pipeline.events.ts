/** Events of a pipeline version. Every event carries the time the supervisor saw it (`at`, epoch ms). */
export type PipelineVersionEvent =
  | { type: 'dataflow.createSent'; at: number; reason: string }
  | {
      type: 'dataflow.reported';
      at: number;
      outcome: 'ready' | 'failed' | 'pending';
      reason: string;
    }
  | { type: 'dataflow.unavailable'; at: number; reason: string }
  | { type: 'dataflow.deleteSent'; at: number }
  | { type: 'dataflow.deleted'; at: number; reason: string }
  | { type: 'pipeline.unload'; at: number; reason: string }
  | { type: 'models.changed'; ready: boolean };

export interface PipelineVersionInput {
  name: string;
  version: number;
  uid: string;
  at: number;
  modelsReady: boolean;
}

export interface PipelineVersionContext extends PipelineVersionInput {
  reason: string;
  /** Every step's model is Available (kept current in every state but the final one). */
  modelsReady: boolean;
}
