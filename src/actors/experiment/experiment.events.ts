/** Events of an experiment. */
export type ExperimentEvent =
  | {
      type: 'resources.evaluated';
      candidatesReady: boolean;
      mirrorReady: boolean;
      /** Why traffic cannot be split now; undefined when it can. */
      routeError: string | undefined;
    }
  | { type: 'experiment.stop' };

export interface ExperimentInput {
  name: string;
}

export interface ExperimentContext extends ExperimentInput {
  candidatesReady: boolean;
  mirrorReady: boolean;
  statusDescription: string;
}
