// Length-prefixed frames on a byte stream: [u32 big-endian length][msgpack payload].
import { encode, decode } from '../channel.js';

export const MAX_FRAME_BYTES = 256 * 1024 * 1024;

export function frame(value: unknown): Buffer {
  const payload = encode(value);
  const out = Buffer.allocUnsafe(4 + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.set(payload, 4);
  return out;
}

/** Collects chunks of a stream and hands out each complete frame's decoded value. */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;

  /** `maxBytes`: the largest frame taken (a peer not yet known is allowed small ones only). */
  constructor(public maxBytes = MAX_FRAME_BYTES) {}

  /**
   * Throws on a frame larger than `maxBytes`: the peer is not speaking this protocol. A frame's
   * chunks are joined once, when it is complete, so a large frame costs what its bytes do.
   */
  push(chunk: Buffer, onFrame: (value: unknown) => void): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (this.buffered >= 4) {
      if (this.chunks[0]!.length < 4) this.chunks = [Buffer.concat(this.chunks)];
      const length = this.chunks[0]!.readUInt32BE(0);
      if (length > this.maxBytes) throw new Error(`frame of ${length} bytes exceeds the limit`);
      if (this.buffered < 4 + length) return;
      const head = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
      const value = decode(head.subarray(4, 4 + length));
      const rest = head.subarray(4 + length);
      this.chunks = rest.length ? [rest] : [];
      this.buffered = rest.length;
      onFrame(value);
    }
  }

  /** The bytes received after the last frame (a raw stream may follow a header frame). */
  drain(): Buffer {
    const rest = Buffer.concat(this.chunks);
    this.chunks = [];
    this.buffered = 0;
    return rest;
  }
}
