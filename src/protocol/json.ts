// Protobuf messages as etcd's JSON gateway writes and reads them (grpc-gateway's jsonpb):
// proto field names, 64-bit integers as strings, bytes as base64, enums by name, and fields
// at their zero value left out. Requests may use either the proto or the lowerCamel names.
import protobuf from 'protobufjs';

const camelToSnake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** A JSON request's fields under the proto names of `type` (lowerCamel names are accepted). */
function protoNames(type: protobuf.Type, value: unknown): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const field = type.fields[key] ?? type.fields[camelToSnake(key)];
    if (!field) continue; // as jsonpb: unknown fields are ignored
    field.resolve();
    const sub = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    out[field.name] = sub ? (Array.isArray(v) ? v.map((x) => protoNames(sub, x)) : protoNames(sub, v)) : v;
  }
  return out;
}

export function encodeJson(type: protobuf.Type, json: unknown): Uint8Array {
  return type.encode(type.fromObject(protoNames(type, json) as Record<string, unknown>)).finish();
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
