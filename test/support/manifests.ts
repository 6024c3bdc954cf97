/**
 * Seldon manifests in tests: a thin adapter over the client's parser, src/cli/manifests.ts (strict
 * decode of Model, Server, Pipeline and Experiment documents into scheduler requests),
 * plus where the Seldon sample manifests are.
 */
import { fileURLToPath } from 'node:url';
import { parseManifests, type Manifest } from '../../src/cli/manifests.js';
import type { Experiment, Pipeline } from '../../src/gen/mlops/scheduler/scheduler.js';

export {
  API_VERSION,
  ManifestError,
  parseManifests,
  readManifests,
  type Manifest,
} from '../../src/cli/manifests.js';

/** Where the Seldon sample manifests are: `$SELDON_SAMPLES`, else the copy in test/fixtures. */
export const SAMPLES_DIR =
  process.env['SELDON_SAMPLES'] ??
  fileURLToPath(new URL('../fixtures/seldon-samples/', import.meta.url));

/** The file name errors carry when a test gives none. */
const UNNAMED = 'manifest.yaml';

function single<K extends Manifest['kind']>(
  text: string,
  file: string,
  kind: K,
): Extract<Manifest, { kind: K }> {
  const [m, ...rest] = parseManifests(text, file);
  if (m?.kind !== kind || rest.length > 0) throw new Error(`expected one ${kind} document`);
  return m as Extract<Manifest, { kind: K }>;
}

/**
 * The single Pipeline of a manifest text, as LoadPipelineRequest.pipeline.
 * @throws ManifestError when the parser refuses it; Error when it is not one Pipeline.
 */
export function pipelineManifest(text: string, file = UNNAMED): Pipeline {
  const { pipeline } = single(text, file, 'Pipeline').request;
  if (!pipeline) throw new Error('the parser returned no pipeline');
  return pipeline;
}

/**
 * The single Experiment of a manifest text, as StartExperimentRequest.experiment.
 * @throws ManifestError when the parser refuses it; Error when it is not one Experiment.
 */
export function experimentManifest(text: string, file = UNNAMED): Experiment {
  const { experiment } = single(text, file, 'Experiment').request;
  if (!experiment) throw new Error('the parser returned no experiment');
  return experiment;
}
