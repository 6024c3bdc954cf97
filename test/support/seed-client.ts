/**
 * A Scheduler client generated at run time (proto-loader) from proto/mlops/scheduler/scheduler.proto,
 * independent of our ts-proto code: what any third-party client would use.
 */
import { fileURLToPath } from 'node:url';
import { credentials, loadPackageDefinition, type Client } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

const PROTO_ROOT = fileURLToPath(new URL('../../proto/', import.meta.url));

type Method = (req: unknown, cb: (err: Error | null, res: unknown) => void) => void;

export function seedClient(address: string): Client & Partial<Record<string, Method>> {
  const def = loadSync('mlops/scheduler/scheduler.proto', {
    includeDirs: [PROTO_ROOT],
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
