// etcdctl's output formats for KV responses, byte for byte: simple (keys and values as text),
// json (Go's encoding of the response: field names of the protos, 64-bit numbers as numbers,
// bytes in base64, zero values left out) and fields ("Name" : value lines).
import type protobuf from 'protobufjs';
import { messageType } from '../protocol/codec.js';

type Res = Record<string, any>;

/** A response as Go's encoding/json writes etcd's structs: proto field order, omitempty. */
export function goJson(type: protobuf.Type, value: Res): string {
  return JSON.stringify(omitZeros(type, value, (x) => (Buffer.isBuffer(x) || x instanceof Uint8Array ? Buffer.from(x).toString('base64') : x)));
}

/**
 * A response as etcdctl's protobuf format writes it: the message re-encoded as Go encodes it,
 * proto3 zero values left out.
 */
export const protobufBytes = (type: string, value: Res) => {
  const t = messageType(type);
  return Buffer.from(t.encode(omitZeros(t, value, (x) => x)).finish());
};

/** The message's fields in proto order without proto3 zero values, each scalar as `leaf` makes it. */
function omitZeros(type: protobuf.Type, value: Res, leaf: (x: any) => any): Res {
  const out: Res = {};
  for (const field of type.fieldsArray) {
    const v = value[field.name];
    if (v === undefined || v === null) continue;
    field.resolve();
    const sub = field.resolvedType && 'fieldsArray' in field.resolvedType ? (field.resolvedType as protobuf.Type) : undefined;
    const one = (x: any) => (sub ? omitZeros(sub, x, leaf) : leaf(x));
    if (field.repeated) {
      if (v.length) out[field.name] = v.map(one);
    } else if (sub) out[field.name] = one(v);
    else if (v !== 0 && v !== false && v !== '' && !(v instanceof Uint8Array && !v.length)) out[field.name] = one(v);
  }
  return out;
}

/** Text of a key or value: as is, or with --hex every byte as \xNN. */
export const text = (b: Uint8Array | undefined, hex: boolean) =>
  hex ? [...(b ?? [])].map((x) => `\\x${x.toString(16).padStart(2, '0')}`).join('') : Buffer.from(b ?? []).toString();

/** A response header in the fields format. */
export const fieldsHeader = (h: Res) => [`"ClusterID" : ${h.cluster_id ?? 0}`, `"MemberID" : ${h.member_id ?? 0}`, `"Revision" : ${h.revision ?? 0}`, `"RaftTerm" : ${h.raft_term ?? 0}`];

const NAMED: Record<number, string> = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r', 34: '\\"', 92: '\\\\' };
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Bytes quoted as Go's %q quotes a string: printable UTF-8 kept, the rest escaped. */
export function goQuote(bytes: Uint8Array | undefined): string {
  const b = Buffer.from(bytes ?? []);
  let out = '"';
  for (let i = 0; i < b.length; ) {
    const c = b[i]!;
    if (NAMED[c]) out += NAMED[c];
    else if (c >= 0x20 && c < 0x7f) out += String.fromCharCode(c);
    else if (c >= 0x80) {
      const len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
      let ch: string | undefined;
      try {
        ch = len > 1 ? utf8.decode(b.subarray(i, i + len)) : undefined;
      } catch {
        ch = undefined;
      }
      if (ch && /\P{C}/u.test(ch)) {
        out += ch;
        i += len;
        continue;
      }
      out += `\\x${c.toString(16).padStart(2, '0')}`;
    } else out += `\\x${c.toString(16).padStart(2, '0')}`;
    i++;
  }
  return out + '"';
}

/** A key-value's lines in the fields format, which quotes keys and values as Go does, --hex or not. */
export function fieldsKv(kv: Res, _hex: boolean, prefix = ''): string[] {
  const q = goQuote;
  return [`"${prefix}Key" : ${q(kv.key)}`, `"${prefix}CreateRevision" : ${kv.create_revision ?? 0}`, `"${prefix}ModRevision" : ${kv.mod_revision ?? 0}`,
    `"${prefix}Version" : ${kv.version ?? 0}`, `"${prefix}Value" : ${q(kv.value)}`, `"${prefix}Lease" : ${kv.lease ?? 0}`];
}

export interface PrintOptions { format: string; hex: boolean }

export function printPut(res: Res, o: PrintOptions): string | Buffer {
  if (o.format === 'protobuf') return protobufBytes('etcdserverpb.PutResponse', res);
  if (o.format === 'json') return goJson(messageType('etcdserverpb.PutResponse'), res) + '\n';
  if (o.format === 'fields') return [...fieldsHeader(res.header ?? {}), ...(res.prev_kv ? fieldsKv(res.prev_kv, o.hex, 'Prev') : [])].join('\n') + '\n';
  return 'OK\n' + (res.prev_kv ? `${text(res.prev_kv.key, o.hex)}\n${text(res.prev_kv.value, o.hex)}\n` : '');
}

export function printGet(res: Res, o: PrintOptions & { keysOnly: boolean; valueOnly: boolean }): string | Buffer {
  if (o.format === 'protobuf') return protobufBytes('etcdserverpb.RangeResponse', res);
  if (o.format === 'json') return goJson(messageType('etcdserverpb.RangeResponse'), res) + '\n';
  const kvs: Res[] = res.kvs ?? [];
  if (o.format === 'fields') {
    return [...fieldsHeader(res.header ?? {}), ...kvs.flatMap((kv) => fieldsKv(kv, o.hex)), `"More" : ${!!res.more}`, `"Count" : ${res.count ?? 0}`].join('\n') + '\n';
  }
  return kvs.map((kv) => {
    if (o.valueOnly) return `${text(kv.value, o.hex)}\n`;
    if (o.keysOnly) return `${text(kv.key, o.hex)}\n\n`;
    return `${text(kv.key, o.hex)}\n${text(kv.value, o.hex)}\n`;
  }).join('');
}

export function printDelete(res: Res, o: PrintOptions): string | Buffer {
  if (o.format === 'protobuf') return protobufBytes('etcdserverpb.DeleteRangeResponse', res);
  if (o.format === 'json') return goJson(messageType('etcdserverpb.DeleteRangeResponse'), res) + '\n';
  if (o.format === 'fields') {
    return [...fieldsHeader(res.header ?? {}), `"Deleted" : ${res.deleted ?? 0}`, ...(res.prev_kvs ?? []).flatMap((kv: Res) => fieldsKv(kv, o.hex, 'Prev'))].join('\n') + '\n';
  }
  return `${res.deleted ?? 0}\n` + (res.prev_kvs ?? []).map((kv: Res) => `${text(kv.key, o.hex)}\n${text(kv.value, o.hex)}\n`).join('');
}

/** A txn's response: SUCCESS or FAILURE, then each request's own output. */
export function printTxn(res: Res, ops: { kind: string; keysOnly?: boolean; valueOnly?: boolean }[], o: PrintOptions): string | Buffer {
  if (o.format === 'protobuf') return protobufBytes('etcdserverpb.TxnResponse', res);
  if (o.format === 'json') {
    const plain = JSON.parse(goJson(messageType('etcdserverpb.TxnResponse'), { ...res, responses: [] }));
    const responses = (res.responses ?? []).map((r: Res) => ({ Response: goOneof(r) }));
    return JSON.stringify({ ...plain, ...(responses.length ? { responses } : {}) }) + '\n';
  }
  const parts = (res.responses ?? []).map((r: Res, i: number) => {
    const op = ops[i] ?? { kind: '' };
    if (r.response_put) return printPut(r.response_put, o);
    if (r.response_delete_range) return printDelete(r.response_delete_range, o);
    return printGet(r.response_range ?? {}, { ...o, keysOnly: !!op.keysOnly, valueOnly: !!op.valueOnly });
  });
  if (o.format === 'fields') return [...fieldsHeader(res.header ?? {}), `"Succeeded" : ${!!res.succeeded}`].join('\n') + '\n' + parts.join('');
  return `${res.succeeded ? 'SUCCESS' : 'FAILURE'}\n` + parts.map((p: string) => `\n${p}`).join('');
}

/** A ResponseOp as Go encodes its oneof: the Go field name of the response it holds. */
function goOneof(r: Res): Res {
  const which: [string, string, string][] = [
    ['response_range', 'ResponseRange', 'etcdserverpb.RangeResponse'], ['response_put', 'ResponsePut', 'etcdserverpb.PutResponse'],
    ['response_delete_range', 'ResponseDeleteRange', 'etcdserverpb.DeleteRangeResponse'], ['response_txn', 'ResponseTxn', 'etcdserverpb.TxnResponse'],
  ];
  for (const [field, goName, type] of which) if (r[field]) return { [goName]: JSON.parse(goJson(messageType(type), r[field])) };
  return {};
}

/** A lease ID as etcdctl prints it: 16 hexadecimal digits. */
export const leaseId = (id: number | string | undefined) => Number(id ?? 0).toString(16).padStart(16, '0');

const EVENT_TYPES = ['PUT', 'DELETE'];
export const eventType = (e: Res) => EVENT_TYPES[e.type ?? 0] ?? String(e.type);

/**
 * A watch response as etcdctl prints it: json is etcd's client-side response struct (Go field
 * names, the header and events as in the protos), protobuf the WatchResponse without its ID.
 */
export function printWatch(res: Res, o: PrintOptions): string | Buffer {
  const events: Res[] = res.events ?? [];
  if (o.format === 'json') {
    const header = JSON.parse(goJson(messageType('etcdserverpb.ResponseHeader'), res.header ?? {}));
    const eventMessage = messageType('mvccpb.Event');
    // etcd's client always hands over a slice of events: empty, it is [] rather than null.
    const goEvents = events.map((e) => JSON.parse(goJson(eventMessage, e)));
    return JSON.stringify({ Header: header, Events: goEvents, CompactRevision: Number(res.compact_revision ?? 0), Canceled: !!res.canceled, Created: !!res.created }) + '\n';
  }
  if (o.format === 'protobuf') {
    const { header, compact_revision, canceled, created } = res;
    return protobufBytes('etcdserverpb.WatchResponse', { header, events, compact_revision, canceled, created });
  }
  if (o.format === 'fields') {
    return [...fieldsHeader(res.header ?? {}), ...events.flatMap((e) => [`"Type" : ${eventType(e)}`, ...(e.prev_kv ? fieldsKv(e.prev_kv, o.hex, 'Prev') : []), ...fieldsKv(e.kv ?? {}, o.hex)])]
      .map((l) => l + '\n').join('');
  }
  const kv = (x: Res) => `${text(x.key, o.hex)}\n${text(x.value, o.hex)}\n`;
  return events.map((e) => `${eventType(e)}\n${e.prev_kv ? kv(e.prev_kv) : ''}${kv(e.kv ?? {})}`).join('');
}
