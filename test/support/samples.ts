/**
 * Seldon's sample Pipeline and Experiment manifests (test/fixtures/seldon-samples, or
 * `$SELDON_SAMPLES`) and what the reference does with each. Errors name a sample as `<kind>/<file>`
 * (see {@link sampleName}).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SchedulerErrorCode } from '../../src/domain/errors.js';
import { SAMPLES_DIR } from './manifests.js';

/**
 * `decode`: the manifest parser (src/cli/manifests.ts) refuses the file with this one-line
 * ManifestError message; otherwise the scheduler refuses the request with this code and text.
 */
export type Outcome = { decode: string } | { code: SchedulerErrorCode; message: string };

const invalidName = (name: string): Outcome => ({
  code: 'InvalidSpec',
  message: `pipeline.name: pipeline ${name} does not have a valid name - it must be alphanmumeric and cannot contain dots (.)`,
});

/** The documented failures (§7); every other sample is valid. */
export const PIPELINE_FAILURES: Readonly<Record<string, Outcome>> = {
  'error-bad-spec.yaml': {
    decode:
      'pipelines/error-bad-spec.yaml: document 1 (Pipeline tfsimple-conditional): spec.steps[1].input: unknown field',
  },
  'error-empty-input.yaml': {
    code: 'FailedPrecondition',
    message: 'pipeline iris-pipeline step second has an empty input',
  },
  'error-empty-trigger.yaml': {
    code: 'FailedPrecondition',
    message: 'pipeline iris-pipeline step third has an empty trigger',
  },
  'error-step-name.yaml': {
    code: 'FailedPrecondition',
    message: 'pipeline iris must not have a step name with the same name as pipeline name',
  },
  'triggers_join_inputs.yaml': invalidName('triggers_join_inputs'),
  'triggers_join_internal.yaml': invalidName('triggers_join_internal'),
};

export const EXPERIMENT_FAILURES: Readonly<Record<string, Outcome>> = {
  'error-bad-spec.yaml': {
    decode:
      'experiments/error-bad-spec.yaml: document 1 (Experiment experiment-sample): spec.candidate: unknown field',
  },
};

const dir = (kind: string): string => join(SAMPLES_DIR, kind);
export const yamlFiles = (kind: string): string[] =>
  readdirSync(dir(kind))
    .filter((f) => f.endsWith('.yaml'))
    .sort();
export const read = (kind: string, file: string): string =>
  readFileSync(join(dir(kind), file), 'utf8');
/** How errors name a sample: `<kind>/<file>`, e.g. `pipelines/error-bad-spec.yaml`. */
export const sampleName = (kind: string, file: string): string => `${kind}/${file}`;
