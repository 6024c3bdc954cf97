/** Upper bounds on what clients and agents may send, and the checks that apply them. */
import { invalidSpec } from '../domain/errors.js';
import type { KubernetesMeta } from '../domain/model.js';
import { checkInt } from '../domain/names.js';
import type { KubernetesMeta as ProtoKubernetesMeta } from '../gen/mlops/scheduler/scheduler.js';

/** Upper bounds past which a value is treated as a mistake, not a wish. */
export const LIMITS = {
  replicas: 100_000,
  /** 1 PiB per replica. */
  memoryBytes: 2 ** 50,
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

/** A list within {@link LIMITS}. @throws SchedulerError InvalidSpec naming `field`. */
export function checkList<T>(field: string, v: readonly T[]): readonly T[] {
  if (v.length > LIMITS.listLength) {
    throw invalidSpec(field, `has ${v.length} entries; at most ${LIMITS.listLength} allowed`);
  }
  return v;
}

/** A proto uint32 (whole, 0..2^32-1). @throws SchedulerError InvalidSpec naming `field`. */
export const checkUint32 = (field: string, v: number): number => checkInt(field, v, 0, UINT32_MAX);

/** Kubernetes metadata as the domain keeps it. @throws SchedulerError InvalidSpec (namespace). */
export function kubernetesMetaFromProto(field: string, m: ProtoKubernetesMeta): KubernetesMeta {
  return { namespace: checkText(`${field}.namespace`, m.namespace), generation: m.generation };
}
