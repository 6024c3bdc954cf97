/** Upper bounds on what clients and agents may send, and the checks that apply them. */
import { invalidSpec } from '../domain/errors.js';
import { MAX_VERSION, type KubernetesMeta } from '../domain/model.js';
import { checkInt } from '../domain/names.js';
import type { KubernetesMeta as ProtoKubernetesMeta } from '../gen/mlops/scheduler/scheduler.js';

/** Upper bounds past which a value is treated as a mistake, not a wish. */
export const LIMITS = {
  replicas: 100_000,
  /** 1 PiB per model replica. */
  memoryBytes: 2 ** 50,
  /** What an agent may report of its replica's memory: the largest byte count kept exactly. */
  agentMemoryBytes: Number.MAX_SAFE_INTEGER,
  stringLength: 4096,
  listLength: 1000,
} as const;

const UINT32_MAX = 0xffff_ffff;

/** A string within {@link LIMITS}. @throws SchedulerError InvalidSpec naming `field`. */
export function checkText<T extends string | undefined>(field: string, v: T): T {
  if (v !== undefined && v.length > LIMITS.stringLength) {
    throw invalidSpec(
      field,
      `is ${v.length} characters long; at most ${LIMITS.stringLength} allowed`,
    );
  }
  return v;
}

/**
 * A name a request must carry (unload, status); its syntax is checked where resources are created.
 * @throws SchedulerError InvalidSpec naming `field` when it is empty.
 */
export function requiredName(field: string, name: string | undefined): string {
  if (!name) throw invalidSpec(field, 'must not be empty');
  return name;
}

/**
 * A name a status request may carry (undefined: every resource of its kind).
 * @throws SchedulerError InvalidSpec naming `field` when it is given empty.
 */
export const optionalName = (field: string, name: string | undefined): string | undefined =>
  name === undefined ? undefined : requiredName(field, name);

/** A list within {@link LIMITS}. @throws SchedulerError InvalidSpec naming `field`. */
export function checkList<T>(field: string, v: readonly T[]): readonly T[] {
  if (v.length > LIMITS.listLength) {
    throw invalidSpec(field, `has ${v.length} entries; at most ${LIMITS.listLength} allowed`);
  }
  return v;
}

/** A proto uint32 (whole, 0..2^32-1). @throws SchedulerError InvalidSpec naming `field`. */
export const checkUint32 = (field: string, v: number): number => checkInt(field, v, 0, UINT32_MAX);

/**
 * A 64-bit field (decoded losslessly as a bigint) as a number within `min..max`, safe integers both.
 * @throws SchedulerError InvalidSpec naming `field`, the bounds (and `why`, when given).
 */
export function checkInt64(field: string, v: bigint, min: number, max: number, why = ''): number {
  if (v < BigInt(min) || v > BigInt(max)) {
    throw invalidSpec(field, `must be a whole number between ${min} and ${max}${why}, got ${v}`);
  }
  return Number(v);
}

/** A number as a proto 64-bit field (a fraction is cut, as the wire carries whole numbers). */
export const int64 = (n: number): bigint => BigInt(Math.trunc(n));

/**
 * Kubernetes metadata as the domain keeps it. The generation fits a uint32: a model's first version
 * is its generation, and versions are uint32 on the wire (the reference truncates it instead).
 * @throws SchedulerError InvalidSpec (namespace, generation).
 */
export function kubernetesMetaFromProto(field: string, m: ProtoKubernetesMeta): KubernetesMeta {
  return {
    namespace: checkText(`${field}.namespace`, m.namespace),
    generation: checkInt64(
      `${field}.generation`,
      m.generation,
      0,
      MAX_VERSION,
      ' (a model version is a uint32)',
    ),
  };
}

/** Domain Kubernetes metadata as the proto's. */
export const kubernetesMetaToProto = (m: KubernetesMeta): ProtoKubernetesMeta => ({
  namespace: m.namespace,
  generation: int64(m.generation),
});
