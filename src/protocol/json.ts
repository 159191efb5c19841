// Protobuf messages as etcd's JSON gateway writes and reads them (grpc-gateway's jsonpb):
// proto field names, 64-bit integers as strings, bytes as base64, enums by name, and fields
// at their zero value left out. Requests may use either the proto or the lowerCamel names.
import protobuf from 'protobufjs';

const camelToSnake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

const INT64_LIMITS: Record<string, [bigint, bigint]> = {
  int64: [-(2n ** 63n), 2n ** 63n - 1n], sint64: [-(2n ** 63n), 2n ** 63n - 1n], sfixed64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n], fixed64: [0n, 2n ** 64n - 1n],
};
/** The largest doubles below 2^63 and 2^64: a nearer one would round to a value out of range. */
const DOUBLE_BELOW: Record<string, number> = { int64: 2 ** 63 - 1024, sint64: 2 ** 63 - 1024, sfixed64: 2 ** 63 - 1024, uint64: 2 ** 64 - 2048, fixed64: 2 ** 64 - 2048 };

/**
 * A 64-bit integer given as a decimal string, as a number that stays in its type's range.
 * Numbers hold 53 bits exactly: 2^63 - 1 (the largest revision) would round up and wrap to a
 * negative value, and a future revision would then read as the current one.
 */
function int64Value(type: string, v: unknown): unknown {
  const limits = INT64_LIMITS[type];
  if (!limits || typeof v !== 'string' || !/^-?\d+$/.test(v.trim())) return v;
  const n = BigInt(v.trim());
  const [min, max] = limits;
  const clamped = n < min ? min : n > max ? max : n;
  return Math.max(Number(min), Math.min(DOUBLE_BELOW[type]!, Number(clamped)));
}

/** An enum given by name must be one of its values, as jsonpb requires. */
function checkEnum(e: protobuf.Enum, v: unknown): void {
  if (typeof v === 'string' && !(v in e.values)) {
    // Go's name of the enum type: package.Message_Enum.
    const [pkg, ...path] = e.fullName.slice(1).split('.');
    throw new Error(`unknown value ${JSON.stringify(v)} for enum ${pkg}.${path.join('_')}`);
  }
}

/** A JSON request's fields under the proto names of `type` (lowerCamel names are accepted). */
function protoNames(type: protobuf.Type, value: unknown): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const field = type.fields[key] ?? type.fields[camelToSnake(key)];
    if (!field) continue; // as jsonpb: unknown fields are ignored
    field.resolve();
    const resolved = field.resolvedType;
    const each = (x: unknown) => {
      if (resolved instanceof protobuf.Type) return protoNames(resolved, x);
      if (resolved instanceof protobuf.Enum) checkEnum(resolved, x);
      return int64Value(field.type, x);
    };
    out[field.name] = Array.isArray(v) ? v.map(each) : each(v);
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
