// etcdserverpb.WatchResponse bytes assembled from pre-encoded fields: each event is encoded once
// per revision (with and without its previous KeyValue) and spliced into every watcher's
// response, so a fan-out to many watchers costs a concatenation per watcher, not an encode.
import protobuf from 'protobufjs';
import { messageType } from '../../protocol/codec.js';
import { fieldKey, LENGTH_DELIMITED, VARINT } from '../../protocol/field-key.js';
import type { Header } from '../../protocol/encode.js';
import type { WatchEvent } from '../mvcc/store.js';

const HeaderType = messageType('etcdserverpb.ResponseHeader');

/** The `events` field (11) of a WatchResponse holding one mvccpb.Event. */
export function eventField(e: WatchEvent, withPrev: boolean): Buffer {
  const inner = protobuf.Writer.create();
  if (e.type) inner.uint32(fieldKey(1, VARINT)).int32(e.type);
  inner.uint32(fieldKey(2, LENGTH_DELIMITED)).bytes(e.kv);
  if (withPrev && e.prev_kv) inner.uint32(fieldKey(3, LENGTH_DELIMITED)).bytes(e.prev_kv);
  const body = inner.finish();
  return Buffer.from(protobuf.Writer.create().uint32(fieldKey(11, LENGTH_DELIMITED)).bytes(body).finish());
}

/** The `header` field (1) of a WatchResponse. */
export function headerField(h: Header): Buffer {
  const w = protobuf.Writer.create().uint32(fieldKey(1, LENGTH_DELIMITED)).fork();
  HeaderType.encode(h, w);
  return Buffer.from(w.ldelim().finish());
}

export interface Control {
  watchId: number;
  created?: boolean;
  canceled?: boolean;
  compactRevision?: number;
  cancelReason?: string;
  fragment?: boolean;
}

/**
 * The fields after the header and before the events. The watcher's id alone, which every event
 * response carries, is encoded once per id: a revision reaching many watchers needs it for each.
 */
function controlFields(c: Control): Buffer {
  const idOnly = !c.created && !c.canceled && !c.compactRevision && !c.cancelReason && !c.fragment;
  if (!idOnly) return encodeControl(c);
  let field = idFields.get(c.watchId);
  if (!field) {
    if (idFields.size >= ID_FIELDS_KEPT) idFields.clear();
    idFields.set(c.watchId, (field = encodeControl(c)));
  }
  return field;
}

const idFields = new Map<number, Buffer>();
const ID_FIELDS_KEPT = 65_536;

function encodeControl(c: Control): Buffer {
  const w = protobuf.Writer.create();
  if (c.watchId) w.uint32(fieldKey(2, VARINT)).int64(c.watchId);
  if (c.created) w.uint32(fieldKey(3, VARINT)).bool(true);
  if (c.canceled) w.uint32(fieldKey(4, VARINT)).bool(true);
  if (c.compactRevision) w.uint32(fieldKey(5, VARINT)).int64(c.compactRevision);
  if (c.cancelReason) w.uint32(fieldKey(6, LENGTH_DELIMITED)).string(c.cancelReason);
  if (c.fragment) w.uint32(fieldKey(7, VARINT)).bool(true);
  return Buffer.from(w.finish());
}

export function encodeWatchResponse(header: Buffer, c: Control, events: Buffer[] = []): Buffer {
  return Buffer.concat([header, controlFields(c), ...events]);
}

/**
 * A watcher's events as one response, or, when it asked for fragments and the response would
 * reach `limit` bytes, as several (each at least one event) flagged `fragment` but the last.
 */
export function encodeEvents(header: Buffer, watchId: number, events: Buffer[], fragmentLimit?: number): Buffer[] {
  const whole = encodeWatchResponse(header, { watchId }, events);
  if (fragmentLimit === undefined || whole.length < fragmentLimit || events.length < 2) return [whole];
  const base = header.length + controlFields({ watchId, fragment: true }).length;
  const out: Buffer[] = [];
  let start = 0;
  while (start < events.length) {
    let size = base;
    let end = start;
    while (end < events.length && (end === start || size + events[end]!.length < fragmentLimit)) size += events[end++]!.length;
    out.push(encodeWatchResponse(header, { watchId, fragment: end < events.length }, events.slice(start, end)));
    start = end;
  }
  return out;
}
