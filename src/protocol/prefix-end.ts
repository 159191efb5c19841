// The range end that covers every key with a prefix, as etcd's clients compute it: the prefix
// with its last byte below 0xff raised by one (and what follows dropped); "\0", every key from
// the prefix on, when there is no such byte.
export function prefixEnd(prefix: Uint8Array): Buffer {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i]! < 0xff) return Buffer.concat([prefix.subarray(0, i), Buffer.of(prefix[i]! + 1)]);
  }
  return Buffer.of(0);
}
