// The termproxy client messages as the gateway parses them from the browser: a byte stream cut
// anywhere, bounded, malformed input refused, view-only viewers unable to type.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  encodeTermMessage,
  MAX_INPUT_BYTES,
  termInputFilter,
  TermMessageParser,
  TermProtocolError,
  type TermMessage,
} from '../../src/console/term/messages.js';

const STREAM = Buffer.concat([
  Buffer.from('1:80:24:', 'latin1'),
  Buffer.from('0:9:hostname\r', 'latin1'),
  Buffer.from('2', 'latin1'),
  // "é€😀" is 2 + 3 + 4 UTF-8 bytes: the length counts bytes, not characters.
  Buffer.from(`0:9:é€😀`, 'utf8'),
  Buffer.from('1:1000:1:', 'latin1'),
  Buffer.from('0:4:2:1:', 'latin1'),
]);

const EXPECTED: TermMessage[] = [
  { kind: 'resize', cols: 80, rows: 24 },
  { kind: 'input', data: Buffer.from('hostname\r') },
  { kind: 'ping' },
  { kind: 'input', data: Buffer.from('é€😀', 'utf8') },
  { kind: 'resize', cols: 1000, rows: 1 },
  { kind: 'input', data: Buffer.from('2:1:') },
];

function parseAll(chunks: Buffer[]): TermMessage[] {
  const parser = new TermMessageParser();
  return chunks.flatMap((chunk) => parser.push(chunk));
}

function malformed(text: string | Buffer): void {
  const parser = new TermMessageParser();
  assert.throws(() => parser.push(typeof text === 'string' ? Buffer.from(text, 'latin1') : text), TermProtocolError, String(text));
}

describe('termproxy message parser', () => {
  test('several messages in one chunk', () => {
    assert.deepEqual(parseAll([STREAM]), EXPECTED);
  });

  test('the same stream split at every byte', () => {
    for (let cut = 1; cut < STREAM.length; cut++) {
      assert.deepEqual(parseAll([STREAM.subarray(0, cut), STREAM.subarray(cut)]), EXPECTED, `split at ${cut}`);
    }
  });

  test('the same stream one byte at a time', () => {
    assert.deepEqual(parseAll([...STREAM].map((byte) => Buffer.from([byte]))), EXPECTED);
  });

  test('an incomplete message is held, not returned', () => {
    const parser = new TermMessageParser();
    assert.deepEqual(parser.push(Buffer.from('2' + '0:5:ab')), [{ kind: 'ping' }]);
    assert.deepEqual(parser.push(Buffer.from('c')), []);
    assert.deepEqual(parser.push(Buffer.from('de1:2:')), [{ kind: 'input', data: Buffer.from('abcde') }]);
    assert.deepEqual(parser.push(Buffer.from('3:')), [{ kind: 'resize', cols: 2, rows: 3 }]);
  });

  test('an input of the largest allowed length passes; one byte more is refused', () => {
    const data = Buffer.alloc(MAX_INPUT_BYTES, 0x61);
    const message = Buffer.concat([Buffer.from(`0:${MAX_INPUT_BYTES}:`), data]);
    assert.deepEqual(parseAll([message.subarray(0, 1000), message.subarray(1000)]), [{ kind: 'input', data }]);
    malformed(`0:${MAX_INPUT_BYTES + 1}:`);
    malformed('0:1000000');
  });

  test('malformed input is refused as soon as it shows', () => {
    for (const text of ['x', '3', ' 2', '0;', '0::', '0:a:', '0:-1:', '1:80:x', '1:0:24:', '1:80:0:', '1:1001:24:', '1:80:1001:', '1:99999', '1::24:', '\n']) {
      malformed(text);
    }
    malformed(Buffer.from([0x00]));
    // What follows a complete message counts too.
    malformed('2x');
  });

  test('encoding gives back the wire form', () => {
    assert.deepEqual(Buffer.concat(EXPECTED.map(encodeTermMessage)), STREAM);
  });
});

describe('the browser input filter', () => {
  test('re-encodes well-formed messages, whatever the framing', () => {
    const filter = termInputFilter(false);
    const out = [STREAM.subarray(0, 5), STREAM.subarray(5, 17), STREAM.subarray(17)].map(filter);
    assert.deepEqual(Buffer.concat(out), STREAM);
  });

  test('drops input of a view-only viewer, keeps resizes and pings', () => {
    const filter = termInputFilter(true);
    assert.equal(filter(STREAM).toString('latin1'), '1:80:24:21:1000:1:');
  });

  test('throws on malformed input', () => {
    const filter = termInputFilter(false);
    assert.equal(filter(Buffer.from('2')).toString(), '2');
    assert.throws(() => filter(Buffer.from('9')), TermProtocolError);
  });
});
