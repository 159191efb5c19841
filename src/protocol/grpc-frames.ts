// gRPC's length-prefixed messages on a stream (uncompressed): a zero flag byte, the length as
// a big-endian u32, the message. Joined, many messages go out in one write.
export const FRAME_PREFIX_BYTES = 5;

export function joinFrames(messages: Uint8Array[]): Buffer {
  let size = 0;
  for (const m of messages) size += FRAME_PREFIX_BYTES + m.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const m of messages) {
    out[at] = 0;
    out.writeUInt32BE(m.length, at + 1);
    out.set(m, at + FRAME_PREFIX_BYTES);
    at += FRAME_PREFIX_BYTES + m.length;
  }
  return out;
}

/** The messages of joined frames, as views into them. */
export function splitFrames(frames: Uint8Array): Uint8Array[] {
  const view = new DataView(frames.buffer, frames.byteOffset, frames.byteLength);
  const out: Uint8Array[] = [];
  for (let at = 0; at < frames.length; ) {
    const length = view.getUint32(at + 1);
    out.push(frames.subarray(at + FRAME_PREFIX_BYTES, at + FRAME_PREFIX_BYTES + length));
    at += FRAME_PREFIX_BYTES + length;
  }
  return out;
}

/** The bytes of messages in `frames` holding `count` of them, without their prefixes. */
export const payloadBytes = (frames: Uint8Array, count: number): number => frames.length - FRAME_PREFIX_BYTES * count;
