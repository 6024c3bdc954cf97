/** Dynamic clients for the standard gRPC health and reflection services (from their own protos). */
import { createRequire } from 'node:module';
import { loadPackageDefinition, type ChannelCredentials, type Client } from '@grpc/grpc-js';
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
