// Byte-wise key order and etcd's range_end conventions.

export const compareKeys = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b);

/** The exclusive end of a range, or undefined for "no upper bound" (range_end "\0"). */
export function rangeEndOf(rangeEnd: Uint8Array): Uint8Array | undefined {
  return rangeEnd.length === 1 && rangeEnd[0] === 0 ? undefined : rangeEnd;
}
