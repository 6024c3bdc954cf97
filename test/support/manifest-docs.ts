/**
 * One-document manifests for the tests of the client's manifest parser (src/cli/manifests.ts): a
 * document built from a spec, parsed, and the assertions on a refusal.
 */
import assert from 'node:assert/strict';
import {
  API_VERSION,
  ManifestError,
  parseManifests,
  type Manifest,
} from '../../src/cli/manifests.js';
import type { LoadModelRequest, ServerNotify } from '../../src/gen/mlops/scheduler/scheduler.js';

export const UINT32_MAX = 4294967295;
export const FILE = 'm.yaml';

/** A one-document manifest: header lines, then `spec` indented under `spec:`. */
export function doc(kind: string, spec: string, metadata = '  name: x\n'): string {
  const body = spec === '' ? '' : `spec:\n${spec.replace(/^/gm, '  ')}\n`;
  return `apiVersion: ${API_VERSION}\nkind: ${kind}\nmetadata:\n${metadata}${body}`;
}

export function one(text: string): Manifest {
  const all = parseManifests(text, FILE);
  assert.equal(all.length, 1);
  return all[0]!;
}

export const model = (spec: string, metadata?: string): LoadModelRequest => {
  const m = one(doc('Model', spec, metadata));
  assert.equal(m.kind, 'Model');
  return m.request;
};

export const server = (spec: string): ServerNotify => {
  const m = one(doc('Server', spec));
  assert.equal(m.kind, 'Server');
  return m.notify;
};

export const pipeline = (spec: string) => {
  const m = one(doc('Pipeline', spec));
  assert.equal(m.kind, 'Pipeline');
  return m.request.pipeline!;
};

export const experiment = (spec: string) => {
  const m = one(doc('Experiment', spec));
  assert.equal(m.kind, 'Experiment');
  return m.request.experiment!;
};

/** Asserts `run` throws a ManifestError with this field and exactly this one-line message. */
export function refuses(run: () => unknown, field: string | undefined, message: string): void {
  assert.throws(run, (e: unknown) => {
    assert.ok(e instanceof ManifestError, `expected a ManifestError, got ${String(e)}`);
    assert.equal(e.message, message);
    assert.equal(e.field, field);
    assert.doesNotMatch(e.message, /\n/);
    return true;
  });
}

/** Asserts a one-document Model manifest is refused on `field` with `reason`. */
export function modelRefused(spec: string, field: string, reason: string, name = 'x'): void {
  refuses(() => model(spec), field, `${FILE}: document 1 (Model ${name}): ${field}: ${reason}`);
}

export const memoryOf = (memory: string): bigint | undefined =>
  model(`storageUri: gs://m\nmemory: ${memory}`).model?.modelSpec?.memoryBytes;

export const scalingOf = (fields: string) =>
  model(`storageUri: gs://m\n${fields}`).model?.deploymentSpec;
