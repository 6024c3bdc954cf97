import type { ExperimentView } from '../../actors/index.js';
import type { ExperimentStatusResponse } from '../../gen/mlops/scheduler/scheduler.js';
import { kubernetesMetaToProto } from '../../wire/limits.js';

/** One ExperimentStatus message (stopped experiments report `active: false`). */
export function experimentStatusToProto(view: ExperimentView): ExperimentStatusResponse {
  const out: ExperimentStatusResponse = {
    experimentName: view.definition.name,
    active: view.active,
    candidatesReady: view.candidatesReady,
    mirrorReady: view.mirrorReady,
    statusDescription: view.statusDescription,
  };
  const k8s = view.definition.kubernetesMeta;
  if (k8s) out.kubernetesMeta = kubernetesMetaToProto(k8s);
  return out;
}
