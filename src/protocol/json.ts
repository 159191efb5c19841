// Protobuf messages as etcd's JSON gateway writes and reads them (grpc-gateway's jsonpb):
// proto field names, 64-bit integers as strings, bytes as base64, enums by name, and fields
// at their zero value left out. Requests may use either the proto or the lowerCamel names.
import protobuf from 'protobufjs';
import { cannotUnmarshal, scalar } from './json-scalars.js';

const camelToSnake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** An enum given by name must be one of its values, as jsonpb requires. */
function checkEnum(e: protobuf.Enum, v: unknown): void {
  if (typeof v === 'string' && !Object.hasOwn(e.values, v)) {
    // Go's name of the enum type: package.Message_Enum.
    const [pkg, ...path] = e.fullName.slice(1).split('.');
    throw new Error(`unknown value ${JSON.stringify(v)} for enum ${pkg}.${path.join('_')}`);
  }
}

/**
 * A JSON request's fields under the proto names of `type` (lowerCamel names are accepted), each
 * value read as jsonpb reads it: a value it refuses throws its error.
 */
function protoNames(type: protobuf.Type, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || !value || Array.isArray(value)) throw cannotUnmarshal(value, 'map[string]json.RawMessage');
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const field = type.fields[key] ?? type.fields[camelToSnake(key)];
    if (!field || v === null) continue; // as jsonpb: unknown fields are ignored, null is the default
    field.resolve();
    const resolved = field.resolvedType;
    const each = (x: unknown) => {
      if (resolved instanceof protobuf.Type) return protoNames(resolved, x);
      if (resolved instanceof protobuf.Enum) return checkEnum(resolved, x), x;
      return scalar(field.type, x);
    };
    out[field.name] = field.repeated && Array.isArray(v) ? v.map(each) : each(v);
  }
  return out;
}

export function encodeJson(type: protobuf.Type, json: unknown): Uint8Array {
  return type.encode(type.fromObject(protoNames(type, json))).finish();
}

/** Drops what proto3 JSON leaves out: zero numbers, false, empty strings, bytes and lists, enums at 0. */
function withoutDefaults(type: protobuf.Type, obj: Record<string, any>): Record<string, any> {
  for (const field of type.fieldsArray) {
    const v = obj[field.name];
    if (v === undefined) continue;
    field.resolve();
    const sub = field.resolvedType;
    if (field.repeated) {
      if (!v.length) delete obj[field.name];
      else if (sub instanceof protobuf.Type) v.forEach((x: Record<string, any>) => withoutDefaults(sub, x));
    } else if (sub instanceof protobuf.Type) withoutDefaults(sub, v);
    else if (sub instanceof protobuf.Enum ? v === sub.valuesById[0] : v === 0 || v === '0' || v === false || v === '') delete obj[field.name];
  }
  return obj;
}

export function decodeJson(type: protobuf.Type, bytes: Uint8Array): Record<string, any> {
  const obj = type.toObject(type.decode(bytes), { longs: String, enums: String, bytes: String });
  return withoutDefaults(type, obj);
}
