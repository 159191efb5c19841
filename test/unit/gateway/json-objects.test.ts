// A streaming request's body split into its JSON objects however its chunks fall.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JsonObjects } from '../../../src/gateway/json-objects.js';

const read = (chunks: string[]) => {
  const objects = new JsonObjects();
  const out: unknown[] = [];
  for (const chunk of chunks) objects.feed(chunk, (json) => out.push(json));
  return out;
};

test('objects come out whole wherever the chunks split them, strings with braces and escaped quotes included', () => {
  const body = ' {"create_request":{"key":"Zm9v","x":"a\\"}{"}}\n{"cancel_request":{"watch_id":"1"}}{"progress_request":{}} ';
  const whole = read([body]);
  assert.deepEqual(whole, [{ create_request: { key: 'Zm9v', x: 'a"}{' } }, { cancel_request: { watch_id: '1' } }, { progress_request: {} }]);
  for (let a = 0; a <= body.length; a++) {
    for (let b = a; b <= body.length; b += 7) assert.deepEqual(read([body.slice(0, a), body.slice(a, b), body.slice(b)]), whole, `split at ${a} and ${b}`);
  }
  // One character a chunk: an object's pieces are kept, not scanned again.
  assert.deepEqual(read([...body]), whole);
});

test('text that does not begin an object is refused as Go\'s decoder refuses it, after the objects before it', () => {
  const objects = new JsonObjects();
  const out: unknown[] = [];
  assert.throws(() => objects.feed('{"a":1} garbage', (json) => out.push(json)), { message: "invalid character 'g' looking for beginning of value" });
  assert.deepEqual(out, [{ a: 1 }]);
  assert.throws(() => read(['[1]']), { message: "invalid character '[' looking for beginning of value" });
});
