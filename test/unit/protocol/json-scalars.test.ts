// JSON scalars read as Go's jsonpb reads them: the values it takes, and its errors for the rest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scalar } from '../../../src/protocol/json-scalars.js';

const refused = (type: string, v: unknown) => {
  try {
    scalar(type, v);
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
};

test('bytes are standard base64 with its padding; newlines are skipped; the error names the first bad byte', () => {
  assert.equal(scalar('bytes', 'Zm9v'), 'Zm9v');
  assert.equal(scalar('bytes', 'Zg=='), 'Zg==');
  assert.equal(scalar('bytes', 'Zm8='), 'Zm8=');
  assert.equal(scalar('bytes', 'Zm9v\nYmFy\r\n'), 'Zm9vYmFy');
  assert.deepEqual(scalar('bytes', [102, 111]), Buffer.from('fo'));
  const cases: [string, number][] = [['Zm9', 0], ['!!!', 0], ['AA', 0], ['Zm9v-_', 4], ['Zg=', 3], ['Z===', 1], ['Zg=x', 2], ['Zg==Zg==', 4], ['Zm8=x', 4]];
  for (const [text, at] of cases) assert.equal(refused('bytes', text), `illegal base64 data at input byte ${at}`, text);
  assert.equal(refused('bytes', 12), 'json: cannot unmarshal number into Go value of type []uint8');
  assert.equal(refused('bytes', ['Zm9v']), 'json: cannot unmarshal string into Go value of type uint8');
});

test('integers are JSON numbers or decimal strings within their type; 64-bit ones keep their magnitude', () => {
  assert.equal(scalar('int64', '12'), 12);
  assert.equal(scalar('int64', -3), -3);
  assert.equal(scalar('int64', '9223372036854775807'), 2 ** 63 - 1024);
  assert.equal(scalar('int64', '-9223372036854775808'), -(2 ** 63));
  assert.equal(scalar('uint64', '18446744073709551615'), 2 ** 64 - 2048);
  assert.equal(refused('int64', 'x'), "invalid character 'x' looking for beginning of value");
  assert.equal(refused('int64', ''), 'unexpected end of JSON input');
  assert.equal(refused('int64', '1e2'), 'json: cannot unmarshal number 1e2 into Go value of type int64');
  assert.equal(refused('int64', 1.5), 'json: cannot unmarshal number 1.5 into Go value of type int64');
  assert.equal(refused('int64', '9223372036854775808'), 'json: cannot unmarshal number 9223372036854775808 into Go value of type int64');
  assert.equal(refused('uint64', '-1'), 'json: cannot unmarshal number -1 into Go value of type uint64');
  assert.equal(refused('int32', 2 ** 31), 'json: cannot unmarshal number 2147483648 into Go value of type int32');
  assert.equal(refused('int64', true), 'json: cannot unmarshal bool into Go value of type int64');
});

test('booleans and strings take only their own JSON type', () => {
  assert.equal(scalar('bool', true), true);
  assert.equal(refused('bool', 'true'), 'json: cannot unmarshal string into Go value of type bool');
  assert.equal(refused('bool', 1), 'json: cannot unmarshal number into Go value of type bool');
  assert.equal(scalar('string', 'root'), 'root');
  assert.equal(refused('string', 5), 'json: cannot unmarshal number into Go value of type string');
});
