import { invalidSpec } from './errors.js';

/** Kubernetes names are at most 253 characters; longer ones are rejected as absurd. */
export const MAX_NAME_LENGTH = 253;

const MODEL_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** DNS-1123 subdomain: what Kubernetes accepts as a Server name. */
const SERVER_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/**
 * Checks a model name as Seldon does (lower-case alphanumerics and '-', no dots).
 * @throws SchedulerError InvalidSpec naming `field`, with Seldon's own message text.
 */
export function checkModelName(field: string, name: string | undefined): string {
  const n = name ?? '';
  if (!isDnsLabel(n)) {
    throw invalidSpec(
      field,
      `Model ${n} does not have a valid name - it must be alphanumeric and not contains dots (.)` +
        (n.length > MAX_NAME_LENGTH ? ` and at most ${MAX_NAME_LENGTH} characters` : ''),
    );
  }
  return n;
}

/** Lower-case alphanumerics and '-', no dots, at most {@link MAX_NAME_LENGTH} characters. */
export const isDnsLabel = (name: string): boolean =>
  MODEL_NAME.test(name) && name.length <= MAX_NAME_LENGTH;

/**
 * Checks a pipeline name as Seldon does (rule 1 of LoadPipeline: a DNS label, so no dots).
 * @throws SchedulerError InvalidSpec naming `field`, with the reference's text (typo included).
 */
export function checkPipelineName(field: string, name: string): string {
  if (!isDnsLabel(name)) {
    throw invalidSpec(
      field,
      `pipeline ${name} does not have a valid name - it must be alphanmumeric and cannot contain dots (.)` +
        (name.length > MAX_NAME_LENGTH ? ` and at most ${MAX_NAME_LENGTH} characters` : ''),
    );
  }
  return name;
}

/**
 * Checks a server name (a Kubernetes DNS-1123 subdomain).
 * @throws SchedulerError InvalidSpec naming `field`.
 */
export function checkServerName(field: string, name: string | undefined): string {
  const n = name ?? '';
  if (n === '') throw invalidSpec(field, 'server name must not be empty');
  if (!SERVER_NAME.test(n) || n.length > MAX_NAME_LENGTH) {
    throw invalidSpec(
      field,
      `server name ${JSON.stringify(n.slice(0, 80))} is not valid - it must be lower-case alphanumerics, '-' or '.', at most ${MAX_NAME_LENGTH} characters`,
    );
  }
  return n;
}

/** Checks that a number is a whole number in [min, max]. @throws SchedulerError InvalidSpec naming `field`. */
export function checkInt(field: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalidSpec(field, `must be a whole number between ${min} and ${max}, got ${value}`);
  }
  return value;
}
