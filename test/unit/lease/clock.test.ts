// The lease clock: only the primary (leader) runs clocks; promotion restarts them with an
// extension (or from a checkpoint), renewals push expiry out, expired leases are handed out for
// revocation once and again only after a while.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LeaseClock } from '../../../src/actors/lease/core.js';

test('a follower runs no clock: nothing expires, renewals go to the leader', () => {
  const clock = new LeaseClock([{ id: 1, ttl: 5, remaining: 0 }]);
  assert.deepEqual(clock.expired(1e12, 10), []);
  assert.deepEqual(clock.renew(1, 0), { notPrimary: true });
  assert.deepEqual(clock.timeToLive(1, 0), { ttl: 5, grantedTTL: 5 });
});

test('the primary expires leases at TTL + the promotion extension, renewals push expiry out', () => {
  const clock = new LeaseClock([{ id: 1, ttl: 5, remaining: 0 }, { id: 2, ttl: 5, remaining: 0 }]);
  clock.promote(0, 1000);
  assert.deepEqual(clock.timeToLive(1, 0), { ttl: 6, grantedTTL: 5 });
  assert.deepEqual(clock.renew(2, 4000), { ttl: 5 });
  assert.deepEqual(clock.expired(5999, 10), []);
  assert.deepEqual(clock.expired(6000, 10), [1]);
  assert.deepEqual(clock.expired(6500, 10), [], 'asked once, not again at once');
  assert.deepEqual(clock.expired(9000, 10), [1, 2], 'asked again after a while; lease 2 expired at 9000');
  assert.deepEqual(clock.renew(1, 9000), { notFound: true }, 'an expired lease cannot be renewed');
  assert.deepEqual(clock.timeToLive(1, 9000), { ttl: -1, grantedTTL: 5 });
});

test('grants, revokes and checkpoints as applied; a new primary starts from a checkpoint', () => {
  const clock = new LeaseClock();
  clock.promote(0, 0);
  clock.applied([{ t: 'granted', id: 7, ttl: 10 }, { t: 'granted', id: 8, ttl: 10 }], 1000);
  assert.deepEqual(clock.timeToLive(7, 1000), { ttl: 10, grantedTTL: 10 });
  assert.deepEqual(clock.checkpoints(5000), [{ ID: 7, remaining_TTL: 6 }, { ID: 8, remaining_TTL: 6 }]);
  clock.applied([{ t: 'checkpoint', id: 7, remaining: 6 }, { t: 'revoked', id: 8 }], 5000);
  assert.deepEqual(clock.ids(), [7]);
  clock.demote();
  assert.deepEqual(clock.expired(1e12, 10), []);
  clock.promote(20_000, 1000);
  assert.deepEqual(clock.timeToLive(7, 20_000), { ttl: 7, grantedTTL: 10 }, 'remaining 6 s + 1 s extension');
  assert.deepEqual(clock.renew(7, 20_000), { ttl: 10, checkpointed: true }, 'the others must forget the checkpoint');
  assert.deepEqual(clock.renew(7, 20_000), { ttl: 10 });
  clock.demote();
  clock.promote(30_000, 0);
  assert.deepEqual(clock.timeToLive(7, 30_000), { ttl: 10, grantedTTL: 10 }, 'a renewal clears the checkpoint');
});

test('at most `max` expired leases per call', () => {
  const clock = new LeaseClock(Array.from({ length: 5 }, (_, i) => ({ id: i + 1, ttl: 1, remaining: 0 })));
  clock.promote(0, 0);
  assert.equal(clock.expired(2000, 3).length, 3);
  assert.equal(clock.expired(2000, 3).length, 2);
});
