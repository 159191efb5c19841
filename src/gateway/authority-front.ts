// etcdctl 3.4 sends an endpoint it dials by itself (`endpoint status`/`hashkv` with --cluster,
// or --endpoints=http://…) with its scheme as the HTTP/2 :authority ("http://host:port"), and
// Node's nghttp2 resets such streams. So a client connection's frames are read here until its
// first request's headers. A connection whose :authority carries a scheme then goes on through
// a rewriting stream that replaces every literal :authority value (grpc-js does not read it);
// the replacement is shorter than the original, so the server's HPACK table never evicts an
// entry the client still refers to. Any other connection's socket is handed to HTTP/2 itself,
// with the bytes read so far put back, and costs nothing more.
//
// Clients such as grpc-go send no request before the server's SETTINGS frame, so the front
// sends one itself (empty: the defaults), and keeps the client's acknowledgement of it from
// the HTTP/2 server, which sends its own SETTINGS once it has the connection.
import type net from 'node:net';
import { Duplex } from 'node:stream';
import { closeOnErrorUntilClaimed } from './unclaimed-socket.js';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
const FRAME_HEADER = 9;
const MAX_FRAME = 16384; // the size every HTTP/2 peer accepts
const HEADERS = 0x1;
const SETTINGS = 0x4;
const PING = 0x6;
const CONTINUATION = 0x9;
const ACK = 0x1;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY = 0x20;
const AUTHORITY_INDEX = 1; // :authority in HPACK's static table
const REPLACEMENT = Buffer.from('kvd');

/** Huffman codes (RFC 7541 appendix B) of the characters of "http://" and "https://". */
const HUFFMAN: Record<string, [number, number]> = { h: [0x27, 6], t: [0x9, 5], p: [0x2b, 6], s: [0x8, 5], ':': [0x5c, 7], '/': [0x18, 6] };

function huffmanBits(text: string): string {
  return [...text].map((c) => HUFFMAN[c]![0].toString(2).padStart(HUFFMAN[c]![1], '0')).join('');
}
const SCHEME_BITS = [huffmanBits('http://'), huffmanBits('https://')];
const SCHEME_RAW = [Buffer.from('http://'), Buffer.from('https://')];

function hasScheme(value: Buffer, huffman: boolean): boolean {
  if (!huffman) return SCHEME_RAW.some((s) => value.subarray(0, s.length).equals(s));
  const bits = [...value.subarray(0, 8)].map((b) => b.toString(2).padStart(8, '0')).join('');
  return SCHEME_BITS.some((s) => bits.startsWith(s));
}

/** An HPACK integer with an n-bit prefix at `pos`. */
function readInt(buf: Buffer, pos: number, bits: number): [number, number] {
  const max = (1 << bits) - 1;
  let value = buf[pos]! & max;
  pos++;
  if (value < max) return [value, pos];
  for (let shift = 0; ; shift += 7) {
    const b = buf[pos++]!;
    value += (b & 0x7f) * 2 ** shift;
    if (!(b & 0x80)) return [value, pos];
  }
}

function writeInt(value: number, bits: number, flags: number): Buffer {
  const max = (1 << bits) - 1;
  if (value < max) return Buffer.of(flags | value);
  const out = [flags | max];
  for (value -= max; value >= 0x80; value = Math.floor(value / 0x80)) out.push((value % 0x80) | 0x80);
  out.push(value);
  return Buffer.from(out);
}

interface Field { start: number; end: number; authority?: { valueStart: number; huffman: boolean; value: Buffer; flags: number; prefixBits: number } }

/** Walks a header block; literal :authority fields come with their value. */
function fields(block: Buffer): Field[] {
  const out: Field[] = [];
  let pos = 0;
  while (pos < block.length) {
    const start = pos;
    const first = block[pos]!;
    if (first & 0x80) {
      pos = readInt(block, pos, 7)[1]; // indexed
    } else if ((first & 0xe0) === 0x20) {
      pos = readInt(block, pos, 5)[1]; // dynamic table size update
    } else {
      const prefixBits = first & 0x40 ? 6 : 4;
      const flags = first & (first & 0x40 ? 0xc0 : 0xf0);
      let nameIndex: number;
      [nameIndex, pos] = readInt(block, pos, prefixBits);
      if (nameIndex === 0) {
        const [len, at] = readInt(block, pos, 7);
        pos = at + len;
      }
      const huffman = (block[pos]! & 0x80) !== 0;
      const [len, valueStart] = readInt(block, pos, 7);
      pos = valueStart + len;
      const field: Field = { start, end: pos };
      if (nameIndex === AUTHORITY_INDEX) field.authority = { valueStart, huffman, value: block.subarray(valueStart, pos), flags, prefixBits };
      out.push(field);
      continue;
    }
    out.push({ start, end: pos });
  }
  return out;
}

function rewrite(block: Buffer): Buffer {
  return Buffer.concat(fields(block).map((f) => {
    if (!f.authority) return block.subarray(f.start, f.end);
    const a = f.authority;
    return Buffer.concat([writeInt(AUTHORITY_INDEX, a.prefixBits, a.flags), writeInt(REPLACEMENT.length, 7, 0), REPLACEMENT]);
  }));
}

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(FRAME_HEADER);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

interface PendingHeaders { stream: number; flags: number; priority: Buffer; fragments: Buffer[] }

/** Splits a connection's bytes (after the preface) into complete frames. */
class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  /** The frames `chunk` completes, in order. */
  read(chunk: Buffer): Buffer[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const frames: Buffer[] = [];
    while (this.pending.length >= FRAME_HEADER) {
      const end = FRAME_HEADER + this.pending.readUIntBE(0, 3);
      if (this.pending.length < end) break;
      frames.push(this.pending.subarray(0, end));
      this.pending = this.pending.subarray(end);
    }
    return frames;
  }

  /** Bytes of a frame not yet complete. */
  rest(): Buffer {
    return this.pending;
  }
}

/** Joins a HEADERS frame and its CONTINUATION frames into one header block. */
class HeaderBlocks {
  private headers?: PendingHeaders;

  /** Whether `raw` belongs to a header block; the block, once `raw` completes it. */
  take(raw: Buffer): { part: boolean; done?: { h: PendingHeaders; block: Buffer } } {
    const type = raw[3]!;
    const flags = raw[4]!;
    if (type === HEADERS) {
      let payload = raw.subarray(FRAME_HEADER);
      const pad = flags & PADDED ? payload[0]! : 0;
      if (flags & PADDED) payload = payload.subarray(1);
      const priority = flags & PRIORITY ? payload.subarray(0, 5) : Buffer.alloc(0);
      this.headers = { stream: raw.readUInt32BE(5) & 0x7fffffff, flags, priority, fragments: [payload.subarray(priority.length, payload.length - pad)] };
    } else if (type === CONTINUATION && this.headers) {
      this.headers.fragments.push(raw.subarray(FRAME_HEADER));
    } else {
      return { part: false };
    }
    if (!(flags & END_HEADERS)) return { part: true };
    const h = this.headers!;
    this.headers = undefined;
    return { part: true, done: { h, block: Buffer.concat(h.fragments) } };
  }
}

/**
 * Reads a client connection (its first bytes, the HTTP/2 preface, may already be put back in
 * `socket`) until its first request's headers, then gives `serve` the connection HTTP/2 is to
 * read: the socket itself, or a rewriting stream over it when the :authority carries a scheme.
 */
export function frontConnection(socket: net.Socket, serve: (connection: Duplex) => void): void {
  socket.write(frame(SETTINGS, 0, 0, Buffer.alloc(0)));
  const kept: Buffer[] = [];
  const reader = new FrameReader();
  const blocks = new HeaderBlocks();
  let preface = Buffer.alloc(0);
  let acknowledged = false;
  let scheme: boolean | undefined;
  const claim = closeOnErrorUntilClaimed(socket);
  const handOver = (read: Buffer, connection: () => Duplex) => {
    socket.off('data', onData);
    claim();
    socket.pause();
    socket.unshift(read);
    serve(connection());
  };
  const onData = (chunk: Buffer) => {
    if (preface.length < PREFACE.length) {
      preface = Buffer.concat([preface, chunk]);
      if (preface.length < PREFACE.length) return;
      // Not HTTP/2 after all: the HTTP/2 server answers it.
      if (!preface.subarray(0, PREFACE.length).equals(PREFACE)) return handOver(preface, () => socket);
      kept.push(preface.subarray(0, PREFACE.length));
      chunk = preface.subarray(PREFACE.length);
    }
    for (const raw of reader.read(chunk)) {
      const type = raw[3]!;
      const flags = raw[4]!;
      if (type === SETTINGS && flags & ACK && !acknowledged) {
        acknowledged = true; // the acknowledgement of the front's SETTINGS, which HTTP/2 never sent
        continue;
      }
      if (type === PING && !(flags & ACK) && scheme === undefined) {
        socket.write(frame(PING, ACK, 0, raw.subarray(FRAME_HEADER))); // answered while no request came
        continue;
      }
      const { done } = blocks.take(raw);
      if (done && scheme === undefined) {
        const authority = fields(done.block).find((f) => f.authority)?.authority;
        scheme = !!authority && hasScheme(authority.value, authority.huffman);
      }
      kept.push(raw);
    }
    if (scheme === undefined || !acknowledged) return;
    handOver(Buffer.concat([...kept, reader.rest()]), () => (scheme ? new AuthorityRewriter(socket) : socket));
  };
  socket.on('data', onData);
}

/** The stream HTTP/2 reads a connection from whose :authority values carry a scheme. */
class AuthorityRewriter extends Duplex {
  private readonly reader = new FrameReader();
  private readonly blocks = new HeaderBlocks();
  private prefaceLeft = PREFACE.length;
  private corked = false;

  /** `socket` is read from the connection's preface on. */
  constructor(private readonly socket: net.Socket) {
    super();
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy());
  }

  override _read(): void {
    this.socket.resume();
  }

  // The frames HTTP/2 writes in one turn (e.g. many watch responses) leave in one system call,
  // not one each: the socket is corked until the turn's queued callbacks have run.
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.corkForTurn();
    this.socket.write(chunk, done);
  }

  override _writev(chunks: { chunk: Buffer }[], done: (err?: Error | null) => void): void {
    this.corkForTurn();
    chunks.forEach(({ chunk }, i) => this.socket.write(chunk, i === chunks.length - 1 ? done : undefined));
  }

  private corkForTurn(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    process.nextTick(() => {
      this.corked = false;
      this.socket.uncork();
    });
  }

  override _final(done: (err?: Error | null) => void): void {
    this.socket.end();
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.socket.destroy();
    done(err);
  }

  private forward(bytes: Buffer): void {
    if (bytes.length && !this.push(bytes)) this.socket.pause();
  }

  private receive(chunk: Buffer): void {
    if (this.prefaceLeft) {
      const preface = chunk.subarray(0, this.prefaceLeft);
      this.prefaceLeft -= preface.length;
      this.forward(preface);
      chunk = chunk.subarray(preface.length);
    }
    for (const raw of this.reader.read(chunk)) {
      const { part, done } = this.blocks.take(raw);
      if (!part) this.forward(raw);
      else if (done) this.emitHeaders(done.h, rewrite(done.block));
    }
  }

  private emitHeaders(h: PendingHeaders, block: Buffer): void {
    const payload = Buffer.concat([h.priority, block]);
    const keep = (h.flags & END_STREAM) | (h.priority.length ? PRIORITY : 0);
    const first = payload.subarray(0, MAX_FRAME);
    const parts: Buffer[] = [];
    for (let at = MAX_FRAME; at < payload.length; at += MAX_FRAME) parts.push(payload.subarray(at, at + MAX_FRAME));
    this.forward(frame(HEADERS, keep | (parts.length ? 0 : END_HEADERS), h.stream, first));
    parts.forEach((p, i) => this.forward(frame(CONTINUATION, i === parts.length - 1 ? END_HEADERS : 0, h.stream, p)));
  }
}
