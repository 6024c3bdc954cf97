import type {
  handleServerStreamingCall,
  ServiceDefinition,
  StatusObject,
  UntypedHandleCall,
  UntypedServiceImplementation,
  handleUnaryCall,
  sendUnaryData,
  ServerUnaryCall,
  ServerWritableStream,
} from '@grpc/grpc-js';
import { toServiceError, type ErrorLogger } from './errors.js';

/** Wraps a (possibly async) function as a grpc-js unary handler with the error mapping applied. */
export function unary<Req, Res>(
  path: string,
  log: ErrorLogger,
  fn: (req: Req) => Res | Promise<Res>,
): handleUnaryCall<Req, Res> {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    Promise.resolve()
      .then(() => fn(call.request))
      .then(
        (res) => {
          callback(null, res);
        },
        (e: unknown) => {
          callback(toServiceError(e, path, log));
        },
      );
  };
}

/**
 * Wraps a server-streaming handler: `fn` writes through the call and returns when it has set the
 * stream up; anything it throws ends the stream with the mapped status.
 */
export function serverStream<Req, Res>(
  path: string,
  log: ErrorLogger,
  fn: (req: Req, call: ServerWritableStream<Req, Res>) => void | Promise<void>,
): handleServerStreamingCall<Req, Res> {
  return (call) => {
    Promise.resolve()
      .then(() => fn(call.request, call))
      .catch((e: unknown) => {
        call.emit('error', toServiceError(e, path, log));
      });
  };
}

/** A generated message type (ts-proto's `encode`). */
export interface Encoder<T> {
  encode(message: T): { finish(): Uint8Array };
}

/**
 * `message` encoded as a Buffer, for a call of a {@link passEncoded} service to write as it is.
 * @throws Error when a field holds a value its wire type cannot carry.
 */
export function encoded<T>(type: Encoder<T>, message: T): Buffer {
  const u8 = type.encode(message).finish();
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

/**
 * The service definition with response serializers that pass an already encoded message (a Buffer)
 * through as it is: a stream can then encode a message once and write it to many calls.
 */
export function passEncoded<S extends ServiceDefinition>(service: S): S {
  return Object.fromEntries(
    Object.entries(service).map(([name, method]) => [
      name,
      {
        ...method,
        responseSerialize: (value: unknown): Buffer =>
          Buffer.isBuffer(value) ? value : method.responseSerialize(value),
      },
    ]),
  ) as S;
}

/**
 * An implementation of `service` that hands every call to `current()` while there is one, and
 * refuses it with `refusal()` otherwise (a standby scheduler, which names the leader). Streams that
 * started on the real implementation stay on it.
 */
export function gated(
  service: ServiceDefinition,
  current: () => UntypedServiceImplementation | undefined,
  refusal: () => Partial<StatusObject>,
): UntypedServiceImplementation {
  const gate: UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(service)) {
    const unaryLike = !method.responseStream;
    gate[name] = ((call: NodeJS.EventEmitter, cb?: sendUnaryData<unknown>) => {
      const target = current();
      const impl = target?.[name] as ((...args: unknown[]) => unknown) | undefined;
      if (impl) return impl.call(target, call, cb);
      if (unaryLike && cb) cb(refusal());
      else call.emit('error', refusal());
      return undefined;
    }) as UntypedHandleCall;
  }
  return gate;
}
