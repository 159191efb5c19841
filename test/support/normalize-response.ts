// Decoded responses of two servers, made comparable: proto3 leaves zero values off the wire and
// one side may still write them, so they are dropped, with the IDs and terms that
// legitimately differ between two clusters. Bytes become latin1 strings.
export function normalizeResponse(v: any): any {
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return v.length ? Buffer.from(v).toString('latin1') : undefined;
  if (Array.isArray(v)) return v.length ? v.map(normalizeResponse) : undefined;
  if (v && typeof v === 'object') {
    const out: Record<string, any> = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === 'cluster_id' || k === 'member_id' || k === 'raft_term') continue;
      const n = normalizeResponse(x);
      if (n !== undefined && n !== 0 && n !== false && n !== '0' && n !== '') out[k] = n;
    }
    return Object.keys(out).length ? out : undefined;
  }
  return v;
}
