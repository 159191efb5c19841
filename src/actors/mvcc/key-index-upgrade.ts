// Databases written before the key history had a database of its own kept every revision of a
// key in its index record. Opening one moves those revisions out, once, in one transaction.
import { unpack } from 'msgpackr';
import type { Databases } from './store.js';
import { encodeIndex, historyFlag, historyKey } from './key-index.js';

const FORMAT = 2;

export function upgradeKeyIndex(dbs: Databases): void {
  if (dbs.meta.get('indexFormat') === FORMAT) return;
  dbs.root.transactionSync(() => {
    for (const { key, value } of [...dbs.index.getRange({})]) {
      // The earlier record: create, version, lease, then main, sub, tombstone of each revision.
      const [create, version, lease, flat] = unpack(value as Buffer) as [number, number, number, number[]];
      for (let i = 0; i < flat.length; i += 3) dbs.history.putSync(historyKey(key as Buffer, flat[i]!, flat[i + 1]!), historyFlag(flat[i + 2] === 1));
      const n = flat.length - 3;
      dbs.index.putSync(key as Buffer, encodeIndex({ create, version, lease, latest: { main: flat[n]!, sub: flat[n + 1]!, tombstone: flat[n + 2] === 1 } }));
    }
    dbs.meta.putSync('indexFormat', FORMAT);
  });
}
