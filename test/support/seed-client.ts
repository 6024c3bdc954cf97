/**
 * A Scheduler client generated at run time (proto-loader) from the seed's reconstruction in
 * ../shared/proto-reference, independent of our ts-proto code: what any third-party client would use.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { credentials, loadPackageDefinition, type Client } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

const shared = fileURLToPath(new URL('../../../shared/proto-reference/', import.meta.url));
export const SEED_PROTO_ROOT = existsSync(shared)
  ? shared
  : fileURLToPath(new URL('../../proto/', import.meta.url));
export const SEED_PROTO_FILE = existsSync(shared)
  ? 'seldon/mlops/scheduler/scheduler.proto'
  : 'mlops/scheduler/scheduler.proto';

type Method = (req: unknown, cb: (err: Error | null, res: unknown) => void) => void;

export function seedClient(address: string): Client & Partial<Record<string, Method>> {
  const def = loadSync(SEED_PROTO_FILE, {
    includeDirs: [SEED_PROTO_ROOT],
    keepCase: true,
    defaults: true,
    enums: String,
    longs: Number,
  });
  const pkg = loadPackageDefinition(def) as unknown as {
    seldon: {
      mlops: {
        scheduler: {
          Scheduler: new (a: string, c: ReturnType<typeof credentials.createInsecure>) => never;
        };
      };
    };
  };
  return new pkg.seldon.mlops.scheduler.Scheduler(address, credentials.createInsecure());
}
