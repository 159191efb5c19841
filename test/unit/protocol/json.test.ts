// JSON requests as etcd's gateway reads them: enums by their names only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeJson } from '../../../src/protocol/json.js';
import { messageType } from '../../../src/protocol/codec.js';

const RangeRequest = messageType('etcdserverpb.RangeRequest');

test('an enum takes its own value names, not any name an object has', () => {
  const decoded = RangeRequest.toObject(RangeRequest.decode(encodeJson(RangeRequest, { key: 'Zm9v', sort_order: 'DESCEND' })));
  assert.equal(decoded.sort_order, 2);
  for (const name of ['BOGUS', 'constructor', 'toString']) {
    assert.throws(() => encodeJson(RangeRequest, { key: 'Zm9v', sort_order: name }), { message: `unknown value "${name}" for enum etcdserverpb.RangeRequest_SortOrder` });
  }
});
