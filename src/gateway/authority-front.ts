// etcdctl 3.4 sends an endpoint it dials by itself (`endpoint status`/`hashkv` with --cluster,
// or --endpoints=http://…) with its scheme as the HTTP/2 :authority ("http://host:port"), and
// Node's nghttp2 resets such streams. So client connections pass through this front: frames are
// parsed until the first request's headers; a connection whose :authority carries a scheme has
// every literal :authority value replaced (grpc-js does not read it), any other is forwarded
// untouched from then on. The replacement is shorter than the original, so the server's HPACK
// table never evicts an entry the client still refers to.
import type net from 'node:net';
import { Duplex } from 'node:stream';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
const FRAME_HEADER = 9;
const MAX_FRAME = 16384; // the size every HTTP/2 peer accepts
const HEADERS = 0x1;
const CONTINUATION = 0x9;
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

interface PendingHeaders { stream: number; flags: number; priority: Buffer; fragments: Buffer[]; raw: Buffer[] }

/** The stream grpc-js reads a client connection from. */
export class AuthorityFront extends Duplex {
  private mode: 'preface' | 'sniff' | 'rewrite' | 'pass' = 'preface';
  private pending: Buffer = Buffer.alloc(0);
  private headers?: PendingHeaders;
  private corked = false;

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
    if (this.mode === 'pass') return this.forward(chunk);
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    if (this.mode === 'preface') {
      const seen = this.pending.subarray(0, PREFACE.length);
      if (!PREFACE.subarray(0, seen.length).equals(seen)) return this.passRest(); // not HTTP/2: grpc-js answers it
      if (this.pending.length < PREFACE.length) return;
      this.forward(this.pending.subarray(0, PREFACE.length));
      this.pending = this.pending.subarray(PREFACE.length);
      this.mode = 'sniff';
    }
    while (this.pending.length >= FRAME_HEADER) {
      const length = this.pending.readUIntBE(0, 3);
      if (this.pending.length < FRAME_HEADER + length) return;
      const raw = this.pending.subarray(0, FRAME_HEADER + length);
      this.pending = this.pending.subarray(FRAME_HEADER + length);
      if (this.frame(raw) === 'pass') return this.passRest();
    }
  }

  private passRest(): void {
    this.mode = 'pass';
    const rest = this.pending;
    this.pending = Buffer.alloc(0);
    this.forward(rest);
  }

  /** Handles one complete frame; returns the mode the connection is in afterwards. */
  private frame(raw: Buffer): typeof this.mode {
    const type = raw[3]!;
    const flags = raw[4]!;
    const stream = raw.readUInt32BE(5) & 0x7fffffff;
    if (type === HEADERS) {
      let payload = raw.subarray(FRAME_HEADER);
      const pad = flags & PADDED ? payload[0]! : 0;
      if (flags & PADDED) payload = payload.subarray(1);
      const priority = flags & PRIORITY ? payload.subarray(0, 5) : Buffer.alloc(0);
      this.headers = { stream, flags, priority, fragments: [payload.subarray(priority.length, payload.length - pad)], raw: [raw] };
    } else if (type === CONTINUATION && this.headers) {
      this.headers.fragments.push(raw.subarray(FRAME_HEADER));
      this.headers.raw.push(raw);
    } else {
      this.forward(raw);
      return this.mode;
    }
    if (!(flags & END_HEADERS)) return this.mode;
    const h = this.headers!;
    this.headers = undefined;
    const block = Buffer.concat(h.fragments);
    if (this.mode === 'sniff') {
      const authority = fields(block).find((f) => f.authority)?.authority;
      this.mode = authority && hasScheme(authority.value, authority.huffman) ? 'rewrite' : 'pass';
    }
    if (this.mode === 'pass') this.forward(Buffer.concat(h.raw));
    else this.emitHeaders(h, rewrite(block));
    return this.mode;
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
