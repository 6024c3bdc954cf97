/**
 * Server reflection (grpcurl, Postman, grpcui) and the gRPC health service, built on first use:
 * both libraries parse proto files with protobufjs, which would otherwise be about half of the
 * scheduler's start-up (`npm run bench -- --only startup`). Their methods are registered at once
 * under their fixed paths and hand every call, and every message to decode, to the real ones,
 * built then, synchronously (so that nothing can come first).
 */
import { createRequire } from 'node:module';
import type { MethodDefinition, Server } from '@grpc/grpc-js';
import type * as HealthCheck from 'grpc-health-check';
import type * as ProtoLoader from '@grpc/proto-loader';
import type * as Reflection from '@grpc/reflection';

const requireCjs = createRequire(import.meta.url);

type Method = MethodDefinition<unknown, unknown>;
type Handler = (...args: unknown[]) => void;
/** What a library's `addToServer` is given: it adds its services, this keeps them by path. */
type Collector = Pick<Server, 'addService'>;

interface LazyMethod {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
}

/**
 * Registers `methods` on each of `servers`; `build` adds the real services to the collector it is
 * given, the first time any of them is called.
 */
function addLazyMethods(
  servers: readonly Server[],
  methods: readonly LazyMethod[],
  build: (into: Collector) => void,
): void {
  let real: Map<string, { method: Method; handler: Handler }> | undefined;
  const of = (path: string) => {
    if (!real) {
      const found = new Map<string, { method: Method; handler: Handler }>();
      build({
        addService(service, implementation) {
          for (const [key, method] of Object.entries(service)) {
            const handler = implementation[key] ?? implementation[method.originalName ?? ''];
            if (handler) found.set(method.path, { method, handler: handler as Handler });
          }
        },
      });
      real = found;
    }
    const found = real.get(path);
    if (!found) throw new Error(`no gRPC method ${path} in the library that serves it`);
    return found;
  };
  const definition: Record<string, Method> = {};
  const implementation: Record<string, Handler> = {};
  for (const { path, requestStream, responseStream } of methods) {
    definition[path] = {
      path,
      requestStream,
      responseStream,
      requestSerialize: (m: unknown) => of(path).method.requestSerialize(m),
      requestDeserialize: (b: Buffer) => of(path).method.requestDeserialize(b),
      responseSerialize: (m: unknown) => of(path).method.responseSerialize(m),
      responseDeserialize: (b: Buffer) => of(path).method.responseDeserialize(b),
    };
    implementation[path] = (...args) => {
      of(path).handler(...args);
    };
  }
  for (const server of servers) server.addService(definition, implementation);
}

/** Adds reflection of the proto `files` (relative to `includeDir`) to `server`. */
export function addReflection(server: Server, files: readonly string[], includeDir: string): void {
  const method = (version: string): LazyMethod => ({
    path: `/grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`,
    requestStream: true,
    responseStream: true,
  });
  addLazyMethods([server], [method('v1'), method('v1alpha')], (into) => {
    const { loadSync } = requireCjs('@grpc/proto-loader') as typeof ProtoLoader;
    const { ReflectionService } = requireCjs('@grpc/reflection') as typeof Reflection;
    new ReflectionService(loadSync([...files], { includeDirs: [includeDir] })).addToServer(into);
  });
}

export type ServingStatus = 'SERVING' | 'NOT_SERVING';

/** `grpc.health.v1.Health` (Check, Watch, List), the same statuses on every server given. */
export class HealthService {
  private readonly statuses = new Map<string, ServingStatus>();
  private real: HealthCheck.HealthImplementation | undefined;

  constructor(servers: readonly Server[], initial: Readonly<Record<string, ServingStatus>>) {
    for (const [service, status] of Object.entries(initial)) this.statuses.set(service, status);
    const method = (name: string, responseStream = false): LazyMethod => ({
      path: `/grpc.health.v1.Health/${name}`,
      requestStream: false,
      responseStream,
    });
    addLazyMethods(servers, [method('Check'), method('Watch', true), method('List')], (into) => {
      const { HealthImplementation } = requireCjs('grpc-health-check') as typeof HealthCheck;
      this.real = new HealthImplementation(Object.fromEntries(this.statuses));
      this.real.addToServer(into);
    });
  }

  setStatus(service: string, status: ServingStatus): void {
    this.statuses.set(service, status);
    this.real?.setStatus(service, status);
  }
}
