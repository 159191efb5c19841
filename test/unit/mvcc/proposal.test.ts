// Raft entry payloads: a proposal decodes as it was written, whichever msgpack form wrote it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Packr } from 'msgpackr';
import { encodeProposal, decodeProposal, type Proposal } from '../../../src/actors/mvcc/proposal.js';

const proposal: Proposal = { origin: 0x1259d415f2a040, boot: 1764520000123, id: 42, op: { type: 'put', req: { key: Buffer.from('k'), value: Buffer.from('v'), lease: 7 } } };

test('a proposal round-trips as plain objects with its bytes intact', () => {
  const back = decodeProposal(encodeProposal(proposal));
  assert.equal(Object.getPrototypeOf(back), Object.prototype);
  assert.deepEqual(back, proposal);
});

test('entries written with msgpack records, as WAL segments of earlier versions hold them, still decode', () => {
  const records = new Packr({ useRecords: true, moreTypes: false });
  const back = decodeProposal(records.pack(proposal));
  assert.deepEqual(back, proposal);
  assert.equal(Object.getPrototypeOf(back.op), Object.prototype);
});
