// Txn checks the gateway makes before proposing, as etcd's: operation limits through nesting,
// and keys written twice within a branch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkTxn } from '../../../src/gateway/validate.js';

const put = (key: string) => ({ request_put: { key: Buffer.from(key), value: Buffer.from('v') } });
const del = (key: string, end?: string) => ({ request_delete_range: { key: Buffer.from(key), ...(end ? { range_end: Buffer.from(end) } : {}) } });
const txn = (success: object[], failure: object[] = []) => ({ request_txn: { success, failure } });
const outcome = (req: object, maxTxnOps = 128) => {
  try {
    checkTxn(req, maxTxnOps);
    return 'ok';
  } catch (err) {
    return (err as Error).message;
  }
};
const TOO_MANY = 'etcdserver: too many operations in txn request';
const DUPLICATE = 'etcdserver: duplicate key given in txn request';

test('a nested txn may have only the operations its parent leaves of the limit', () => {
  const puts = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => put(`${prefix}${i}`));
  assert.equal(outcome({ success: puts(8, 'a') }, 8), 'ok');
  assert.equal(outcome({ success: puts(9, 'a') }, 8), TOO_MANY);
  // The parent counts 2 (its larger branch), so each nested txn may have 6.
  assert.equal(outcome({ success: [txn(puts(6, 'b')), put('a')] }, 8), 'ok');
  assert.equal(outcome({ success: [txn(puts(7, 'b')), put('a')] }, 8), TOO_MANY);
  // Deeper, what is left shrinks again: 4 - 2 for the second level, 2 - 1 for the third.
  assert.equal(outcome({ success: [txn([txn(puts(1, 'c'))])], failure: [put('x'), put('y')] }, 4), 'ok');
  assert.equal(outcome({ success: [txn([txn(puts(2, 'c'))])], failure: [put('x'), put('y')] }, 4), TOO_MANY);
});

test('within a branch a key is put once and never inside a deleted range; the two branches of a nested txn may put the same key', () => {
  assert.equal(outcome({ success: [put('a'), put('a')] }), DUPLICATE);
  assert.equal(outcome({ success: [put('a')], failure: [put('a')] }), 'ok');
  assert.equal(outcome({ success: [put('b'), del('a', 'c')] }), DUPLICATE);
  assert.equal(outcome({ success: [put('c'), del('a', 'c')] }), 'ok');
  assert.equal(outcome({ success: [txn([put('k')], [put('k')])] }), 'ok');
  assert.equal(outcome({ success: [put('k'), txn([put('k')])] }), DUPLICATE);
  assert.equal(outcome({ success: [txn([put('k')]), del('k')] }), DUPLICATE);
  assert.equal(outcome({ success: [del('a', 'z'), txn([txn([put('m')])])] }), DUPLICATE);
  assert.equal(outcome({ success: [txn([del('a')]), txn([put('a')])] }), DUPLICATE);
});
