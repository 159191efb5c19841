// Loads kvd's shipped .proto files once per thread and builds @grpc/grpc-js service
// definitions from them. Int64 fields decode to plain numbers: revisions stay far below 2^53,
// and the IDs kvd hands out (members, leases, clusters) are chosen below 2^53 too.
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import protobuf from 'protobufjs';
import type * as grpc from '@grpc/grpc-js';

protobuf.util.Long = undefined as unknown as typeof protobuf.util.Long;
protobuf.configure();

/** Directory of the shipped .proto files (src/protocol, also from the compiled dist/ copy). */
export const PROTO_DIR = fileURLToPath(new URL('../../../src/protocol/', import.meta.url));

export const PROTO_FILES = [
  'mvccpb/kv.proto',
  'authpb/auth.proto',
  'etcdserverpb/rpc.proto',
  'v3lockpb/v3lock.proto',
  'v3electionpb/v3election.proto',
];

function loadRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (path.isAbsolute(target) ? target : path.join(PROTO_DIR, target));
  root.loadSync(PROTO_FILES, { keepCase: true });
  root.resolveAll();
  return root;
}

export const root = loadRoot();

const typeCache = new Map<string, protobuf.Type>();

/** A message type by its full name, e.g. `etcdserverpb.RangeRequest`. */
export function messageType(fullName: string): protobuf.Type {
  let t = typeCache.get(fullName);
  if (!t) {
    t = root.lookupType(fullName);
    typeCache.set(fullName, t);
  }
  return t;
}

/** Encodes a plain object (or passes through bytes that are already an encoded message). */
export function encodeMessage(type: protobuf.Type, value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  const bytes = type.encode(value as protobuf.Message).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Size in bytes of the encoded request a decoded message came from. */
export const WIRE_SIZE = Symbol('wireSize');

/**
 * Decodes to a plain object (absent fields stay absent, bytes stay Buffers): decoded requests
 * cross threads with msgpackr, which would serialise a protobufjs Message through its toJSON.
 */
export function decodeMessage<T = Record<string, any>>(type: protobuf.Type, bytes: Uint8Array): T {
  const msg = type.toObject(type.decode(bytes)) as Record<string | symbol, unknown>;
  msg[WIRE_SIZE] = bytes.length;
  return msg as T;
}

/** The gRPC definition of a service, e.g. `etcdserverpb.KV`, for servers and clients alike. */
export function serviceDefinition(fullName: string): grpc.ServiceDefinition {
  const service = root.lookupService(fullName);
  const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methodsArray) {
    method.resolve();
    const req = method.resolvedRequestType!;
    const res = method.resolvedResponseType!;
    def[method.name] = {
      path: `/${fullName}/${method.name}`,
      requestStream: !!method.requestStream,
      responseStream: !!method.responseStream,
      requestSerialize: (v: unknown) => encodeMessage(req, v),
      requestDeserialize: (b: Buffer) => decodeMessage(req, b),
      responseSerialize: (v: unknown) => encodeMessage(res, v),
      responseDeserialize: (b: Buffer) => decodeMessage(res, b),
      originalName: method.name,
    };
  }
  return def;
}
