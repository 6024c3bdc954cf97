/**
 * Proto ↔ domain mapping of Seldon's `Experiment` message (StartExperiment, ExperimentStatus).
 * Only the shape is checked here; Seldon's experiment rules are domain/experiment.ts
 * `checkExperiment`.
 */
import { invalidSpec } from '../../domain/errors.js';
import type { ExperimentDefinition, ResourceType } from '../../domain/experiment.js';
import {
  checkModelName,
  checkPipelineName,
  isDnsLabel,
  MAX_NAME_LENGTH,
} from '../../domain/names.js';
import {
  ResourceType as ProtoResourceType,
  type Experiment,
  type ExperimentStatusResponse,
} from '../../gen/mlops/scheduler/scheduler.js';
import {
  checkList,
  checkUint32,
  kubernetesMetaFromProto,
  kubernetesMetaToProto,
} from '../limits.js';
import type { ExperimentView } from '../../actors/index.js';

/**
 * Checks an experiment name: a DNS label, like model and pipeline names (the reference accepts any
 * name, even an empty one; we do not, see the README's differences table).
 * @throws SchedulerError InvalidSpec naming `field` and the value.
 */
function checkExperimentName(field: string, name: string): string {
  if (!isDnsLabel(name)) {
    throw invalidSpec(
      field,
      `experiment ${JSON.stringify(name.slice(0, 80))} does not have a valid name - it must be lower-case alphanumerics or '-', at most ${MAX_NAME_LENGTH} characters, and cannot contain dots (.)`,
    );
  }
  return name;
}

/** The name rule of what an experiment's names refer to, with that resource's own message. */
const RESOURCE_NAME: Readonly<Record<ResourceType, (field: string, name: string) => string>> = {
  model: checkModelName,
  pipeline: checkPipelineName,
};

/** PIPELINE (1) means pipeline; MODEL and any unknown wire value mean model, as in the reference. */
const resourceTypeFromProto = (t: ProtoResourceType): ResourceType =>
  t === ProtoResourceType.PIPELINE ? 'pipeline' : 'model';

/**
 * Decodes a StartExperiment request's experiment. Weights and the mirror percentage are only
 * checked to be uint32 (the reference puts no bound on them).
 * @throws SchedulerError InvalidSpec naming the first bad field under `prefix`: a missing message,
 *   an invalid experiment name, an empty or invalid default, candidate or mirror name (checked by
 *   the rule of the resource type), an over-long list.
 */
export function experimentFromProto(
  prefix: string,
  e: Experiment | undefined,
): ExperimentDefinition {
  if (!e) throw invalidSpec(prefix, 'is required');
  const name = checkExperimentName(`${prefix}.name`, e.name);
  const resourceType = resourceTypeFromProto(e.resourceType);
  const resourceName = RESOURCE_NAME[resourceType];
  const def: ExperimentDefinition = { name, candidates: [], resourceType };
  if (e.default !== undefined) def.default = resourceName(`${prefix}.default`, e.default);
  def.candidates = checkList(`${prefix}.candidates`, e.candidates).map((c, i) => ({
    name: resourceName(`${prefix}.candidates[${i}].name`, c.name),
    weight: checkUint32(`${prefix}.candidates[${i}].weight`, c.weight),
  }));
  if (e.mirror) {
    def.mirror = {
      name: resourceName(`${prefix}.mirror.name`, e.mirror.name),
      percent: checkUint32(`${prefix}.mirror.percent`, e.mirror.percent),
    };
  }
  if (e.config) def.config = { stickySessions: e.config.stickySessions };
  if (e.kubernetesMeta) {
    def.kubernetesMeta = kubernetesMetaFromProto(`${prefix}.kubernetesMeta`, e.kubernetesMeta);
  }
  return def;
}

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
