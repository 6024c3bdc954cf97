/**
 * The Lua scripts the leader lease runs in Redis, read from ./lua/ (each file's header says its
 * keys, arguments and reply). `npm run build` copies that folder beside the bundle.
 */
import { readFileSync } from 'node:fs';

const read = (name: string): string =>
  readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8');

export const LEASE_SCRIPTS = {
  /** The lease taken when free, with a new epoch (lease.ts). */
  acquire: read('acquire'),
  /** The lease extended while it is still the holder's. */
  renew: read('renew'),
  /** The lease given back while it is still the holder's. */
  release: read('release'),
  /** The lease's value and time to live. */
  holder: read('holder'),
} as const;
