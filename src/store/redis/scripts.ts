/**
 * The Lua script the store runs in Redis, read from ./lua/ (its header says its keys, arguments
 * and reply). `npm run build` copies that folder beside the bundle.
 */
import { readFileSync } from 'node:fs';

/** A batch of puts and deletes, fenced by the epoch when given a token (redis-store.ts). */
export const WRITE_SCRIPT = readFileSync(new URL('./lua/write.lua', import.meta.url), 'utf8');
