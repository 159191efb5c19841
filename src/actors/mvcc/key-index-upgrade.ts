// Two earlier layouts of the key index are upgraded, once, in one transaction, when a store opens:
// - format 1 kept every revision of a key in its index record;
// - format 2 moved them all to the history database, the latest included, where the current
//   layout keeps only superseded revisions (the latest lives in the index record alone).
// Both end as the current layout, so that equal data gives equal databases (and equal Hash).
import { unpack } from 'msgpackr';
import type { Databases } from './store.js';
import { decodeIndex, encodeIndex, historyFlag, historyKey } from './key-index.js';

const FORMAT = 3;

export function upgradeKeyIndex(dbs: Databases): void {
  const format = dbs.meta.get('indexFormat') as number | undefined;
  if (format === FORMAT) return;
  dbs.root.transactionSync(() => {
    for (const { key, value } of [...dbs.index.getRange({})]) {
      if (format === 2) {
        const { latest } = decodeIndex(value as Buffer);
        dbs.history.removeSync(historyKey(key as Buffer, latest.main, latest.sub));
        continue;
      }
      // Format 1: create, version, lease, then main, sub, tombstone of each revision.
      const [create, version, lease, flat] = unpack(value as Buffer) as [number, number, number, number[]];
      const n = flat.length - 3;
      for (let i = 0; i < n; i += 3) dbs.history.putSync(historyKey(key as Buffer, flat[i]!, flat[i + 1]!), historyFlag(flat[i + 2] === 1));
      dbs.index.putSync(key as Buffer, encodeIndex({ create, version, lease, latest: { main: flat[n]!, sub: flat[n + 1]!, tombstone: flat[n + 2] === 1 } }));
    }
    dbs.meta.putSync('indexFormat', FORMAT);
  });
}
