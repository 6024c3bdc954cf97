/** Dynamic clients for the standard gRPC health and reflection services (from their own protos). */
import { createRequire } from 'node:module';
import {
  credentials,
  loadPackageDefinition,
  type ChannelCredentials,
  type Client,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath } from 'grpc-health-check';

const require = createRequire(import.meta.url);

type Ctor = new (
  address: string,
  creds: ChannelCredentials,
) => Client & Record<string, (...a: never[]) => unknown>;

const healthPkg = loadPackageDefinition(loadSync(protoPath)) as unknown as {
  grpc: { health: { v1: { Health: Ctor } } };
};
const reflectionProto =
  require.resolve('@grpc/reflection/build/proto/grpc/reflection/v1alpha/reflection.proto');
const reflectionPkg = loadPackageDefinition(loadSync(reflectionProto)) as unknown as {
  grpc: { reflection: { v1alpha: { ServerReflection: Ctor } } };
};

export const HealthClient = healthPkg.grpc.health.v1.Health as any;

export const ReflectionClient = reflectionPkg.grpc.reflection.v1alpha.ServerReflection as any;

/** The services a server lists through reflection (plaintext). */
export async function listedServices(address: string): Promise<string[]> {
  const c = new ReflectionClient(address, credentials.createInsecure());
  try {
    return await new Promise<string[]>((resolve, reject) => {
      const s = c.ServerReflectionInfo();
      s.on('data', (m: { listServicesResponse?: { service: { name: string }[] } }) => {
        resolve(m.listServicesResponse?.service.map((x) => x.name) ?? []);
        s.end();
      });
      s.on('error', reject);
      s.write({ listServices: '' });
    });
  } finally {
    c.close();
  }
}
