// JSON values read into protobuf scalars as etcd's gateway (Go's jsonpb) reads them, refused
// with the errors Go's decoder gives: integers as JSON numbers or decimal strings within their
// type's range, booleans as true or false, bytes as standard padded base64.

const jsonKind = (v: unknown) =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'object' ? 'object' : typeof v === 'boolean' ? 'bool' : typeof v;

export const cannotUnmarshal = (v: unknown, goType: string, text?: string) =>
  new Error(`json: cannot unmarshal ${jsonKind(v)}${text === undefined ? '' : ` ${text}`} into Go value of type ${goType}`);

const INT_RANGES: Record<string, [goType: string, min: bigint, max: bigint]> = {
  int64: ['int64', -(2n ** 63n), 2n ** 63n - 1n], sint64: ['int64', -(2n ** 63n), 2n ** 63n - 1n], sfixed64: ['int64', -(2n ** 63n), 2n ** 63n - 1n],
  uint64: ['uint64', 0n, 2n ** 64n - 1n], fixed64: ['uint64', 0n, 2n ** 64n - 1n],
  int32: ['int32', -(2n ** 31n), 2n ** 31n - 1n], sint32: ['int32', -(2n ** 31n), 2n ** 31n - 1n], sfixed32: ['int32', -(2n ** 31n), 2n ** 31n - 1n],
  uint32: ['uint32', 0n, 2n ** 32n - 1n], fixed32: ['uint32', 0n, 2n ** 32n - 1n],
};
const JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/**
 * An integer field's value as a number. Numbers hold 53 bits exactly: one nearer to 2^63 (or
 * 2^64) than a double can be without rounding up is kept just below it, so that 2^63 - 1 (the
 * largest revision) stays a huge positive number instead of wrapping to a negative one.
 */
function integer(type: string, v: unknown): number {
  const [goType, min, max] = INT_RANGES[type]!;
  let text: string;
  if (typeof v === 'number') text = String(v);
  else if (typeof v === 'string') {
    text = v;
    if (!JSON_NUMBER.test(text)) throw new Error(text ? `invalid character '${text[0]}' looking for beginning of value` : 'unexpected end of JSON input');
  } else throw cannotUnmarshal(v, goType);
  if (!/^-?\d+$/.test(text)) throw cannotUnmarshal(typeof v === 'string' ? 0 : v, goType, text);
  const n = BigInt(text);
  if (n < min || n > max) throw cannotUnmarshal(0, goType, text);
  const below = max >= 2n ** 63n - 1n ? Number(max) - (max > 2n ** 63n ? 2048 : 1024) : Number(max);
  return Math.max(Number(min), Math.min(below, Number(n)));
}

const BASE64 = /[A-Za-z0-9+/]/;

/** Standard base64 as Go's decoder reads it (newlines skipped, padding required); returns it without newlines. */
function base64(s: string): string {
  const chars = s.replace(/[\r\n]/g, '');
  const illegal = (at: number) => new Error(`illegal base64 data at input byte ${at}`);
  for (let at = 0; at < chars.length; at += 4) {
    const quantum = chars.slice(at, at + 4);
    const pad = quantum.indexOf('=');
    const data = pad < 0 ? quantum : quantum.slice(0, pad);
    for (let i = 0; i < data.length; i++) if (!BASE64.test(data[i]!)) throw illegal(at + i);
    if (pad < 0 && quantum.length < 4) throw illegal(at);
    if (pad >= 0) {
      if (pad < 2) throw illegal(at + pad);
      if (quantum.length < 4) throw illegal(chars.length);
      if (pad === 2 && quantum[3] !== '=') throw illegal(at + 2);
      if (at + 4 < chars.length) throw illegal(at + 4);
    }
  }
  return chars;
}

/** Reads a scalar field's JSON value; returns it in the form protobufjs's fromObject takes. */
export function scalar(type: string, v: unknown): unknown {
  if (type in INT_RANGES) return integer(type, v);
  if (type === 'bool') {
    if (typeof v !== 'boolean') throw cannotUnmarshal(v, 'bool');
    return v;
  }
  if (type === 'string') {
    if (typeof v !== 'string') throw cannotUnmarshal(v, 'string');
    return v;
  }
  if (type === 'bytes') {
    if (typeof v === 'string') return base64(v);
    if (!Array.isArray(v)) throw cannotUnmarshal(v, '[]uint8');
    return Buffer.from(v.map((x) => {
      if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > 255) throw cannotUnmarshal(x, 'uint8', typeof x === 'number' ? String(x) : undefined);
      return x;
    }));
  }
  return v;
}
