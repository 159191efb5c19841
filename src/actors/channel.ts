// Hot-path messages between actors: msgpackr-encoded and sent as transferred ArrayBuffers
// over direct MessagePorts, so a batch crosses threads without a structured clone.
import type { MessagePort } from 'node:worker_threads';
import { Packr } from 'msgpackr';

// Objects as plain maps: without structures shared ahead, records would carry their
// definitions in every message, costing more to write and to read than the keys they save.
// Records written before (in WAL entries) still decode.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false });

export function send(port: MessagePort, message: unknown): void {
  const bytes = packr.pack(message);
  // pack() may return a view into a reused buffer: copy it into one the port can own.
  const owned = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  port.postMessage(owned, [owned]);
}

export function receive<T>(port: MessagePort, handler: (message: T) => void): void {
  port.on('message', (data: ArrayBuffer) => handler(packr.unpack(new Uint8Array(data)) as T));
}

/** Encodes a value once (e.g. a raft entry payload) with the same codec. */
export const encode = (value: unknown): Uint8Array => packr.pack(value);
export const decode = <T>(bytes: Uint8Array): T => packr.unpack(bytes) as T;
