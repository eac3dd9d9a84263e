import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MAX_INPUT_BYTES, MAX_TERMINAL_SIZE, termInputFilter, TermMessageParser, TermProtocolError, type TermMessage } from '../../src/console/term/messages.js';
import { inputMessage, PING_MESSAGE, resizeMessage } from '../helpers/term-client.js';
import { assertCutsChangeNothing, chunked, failOnUnhandledRejections, fuzz, mutated, randomBytes } from './support.js';

/** A message as the console page writes it, and what the gateway must make of it. */
interface Written {
  bytes: Buffer;
  message: TermMessage;
}

const size = fc.integer({ min: 1, max: MAX_TERMINAL_SIZE });
const written: fc.Arbitrary<Written> = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map((text) => ({ bytes: Buffer.from(inputMessage(text)), message: { kind: 'input' as const, data: Buffer.from(text) } })) },
  {
    weight: 1,
    // A paste up to the limit: long messages are where held chunks pile up.
    arbitrary: fc.integer({ min: 1000, max: MAX_INPUT_BYTES }).map((n) => {
      const text = 'v'.repeat(n);
      return { bytes: Buffer.from(inputMessage(text)), message: { kind: 'input' as const, data: Buffer.from(text) } };
    }),
  },
  { weight: 2, arbitrary: fc.tuple(size, size).map(([cols, rows]) => ({ bytes: Buffer.from(resizeMessage(cols, rows)), message: { kind: 'resize' as const, cols, rows } })) },
  { weight: 1, arbitrary: fc.constant({ bytes: Buffer.from(PING_MESSAGE), message: { kind: 'ping' as const } }) },
);
const validStream = fc.array(written, { maxLength: 8 });
const joined = (messages: Written[]) => Buffer.concat(messages.map((m) => m.bytes));

/** Text of termproxy's alphabet (digits, colons, the three types), where a parser's corner cases are. */
const nearMiss = fc
  .array(fc.oneof(fc.constantFrom('0', '1', '2', ':', '9', '00000', '65536', '1001', '99999999'), fc.string({ maxLength: 3 })), { maxLength: 12 })
  .map((parts) => Buffer.from(parts.join(''), 'latin1'));
const anyStream = fc.oneof(validStream.map(joined), mutated(validStream.map(joined)), nearMiss, randomBytes(200));

const transcriptOf = (m: TermMessage) => (m.kind === 'input' ? `input ${m.data.toString('hex')}\n` : m.kind === 'resize' ? `resize ${m.cols}x${m.rows}\n` : 'ping\n');

function openParser(): (chunk: Buffer) => string {
  const parser = new TermMessageParser();
  return (chunk) => parser.push(chunk).map(transcriptOf).join('');
}

describe('fuzzing the termproxy message parser', () => {
  failOnUnhandledRejections();

  it('gives back every message the page writes, however the stream is cut', async () => {
    await fuzz(
      fc.property(validStream.chain((messages) => chunked(fc.constant(joined(messages))).map((c) => ({ messages, ...c }))), ({ messages, chunks }) => {
        const push = openParser();
        assert.equal(chunks.map(push).join(''), messages.map((m) => transcriptOf(m.message)).join(''));
      }),
    );
  });

  it('refuses only with TermProtocolError, and the cuts change nothing but how far it got', async () => {
    await fuzz(fc.property(chunked(anyStream), ({ whole, chunks }) => assertCutsChangeNothing(whole, chunks, openParser, TermProtocolError)));
  });

  it('passes upstream only well-formed messages, and nothing typed from a view-only viewer', async () => {
    await fuzz(
      fc.property(chunked(anyStream), fc.boolean(), ({ chunks }, viewOnly) => {
        let typed = false;
        const filter = termInputFilter(viewOnly, () => (typed = true));
        const upstream: Buffer[] = [];
        try {
          for (const chunk of chunks) upstream.push(filter(chunk));
        } catch (error) {
          if (!(error instanceof TermProtocolError)) throw error;
        }
        // What went upstream parses whole, with no partial message left over.
        const parser = new TermMessageParser();
        const sent = parser.push(Buffer.concat(upstream));
        assert.equal(parser.push(Buffer.from(PING_MESSAGE)).length, 1, 'upstream stream ends at a message boundary');
        const inputs = sent.filter((m) => m.kind === 'input');
        if (viewOnly) assert.equal(inputs.length, 0);
        assert.equal(typed, inputs.length > 0, 'onInput is called exactly when input passes');
      }),
    );
  });
});
