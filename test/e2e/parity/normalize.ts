// What may differ between two servers given the same requests: member and cluster IDs, raft
// terms and indexes, server versions, database sizes, hashes, ports, leases' remaining seconds
// and etcdctl's own log lines. Keys, values, revisions, counts, flags and error texts are compared as they are.

export interface Step {
  args: string[];
  stdin?: string;
  loose?: boolean;
  /** A command that runs until stopped (watch): these steps run while it does, then it is interrupted. */
  during?: Step[];
  /** Keeps what this pattern's first group matches in its output, for later steps' `$NAME` arguments. */
  capture?: { name: string; pattern: RegExp };
}

const ID_FIELDS = /"(cluster_id|member_id|raft_term|ID|id|lease|leader|raftIndex|raftTerm|raftAppliedIndex|dbSize|dbSizeInUse|hash)":\s*\d+/g;
const FIELD_LINES = /^"(ClusterID|MemberID|RaftTerm)" : \d+$/gm;

/** What depends on timing alone: remaining lease TTLs (tsctl starts slower than etcdctl, and each server runs at its own pace) and how long a request took. */
const untimed = (text: string) => text
  .replace(/remaining\(\d+s\)/g, 'remaining(<n>s)').replace(/"ttl":\d+/g, '"ttl":<n>')
  .replace(/"took":"[^"]*"/g, '"took":"<t>"').replace(/"Took" : \S+/g, '"Took" : <t>');

export function normalize(text: string, endpoint: string, step: Step): string {
  let out = text.split(endpoint).join('<endpoint>');
  out = out.replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:<port>');
  out = out.replace(ID_FIELDS, '"$1":<n>').replace(FIELD_LINES, '"$1" : <n>');
  out = out.replace(/"version":"[^"]*"/g, '"version":"<v>"').replace(/took = [\d.]+[µm]?s/g, 'took = <t>');
  out = untimed(out);
  out = out.replace(/\b[0-9a-f]{12,16}\b/g, '<id>');
  // Member IDs in `member list` lines, however many hex digits a random ID happens to have.
  out = out.replace(/^[0-9a-f]+(?=, (un)?started, )/gm, '<id>');
  // Table padding follows the width of IDs and sizes, so loose steps compare it collapsed.
  if (step.loose) out = out.replace(/\d+(\.\d+)*( kB| MB| B)?/g, '<n>').replace(/-+/g, '-').replace(/ +/g, ' ');
  return out;
}

/** etcdctl's stderr without its timestamped log lines: the error messages themselves. */
export const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l && !l.startsWith('{')).join('\n');
