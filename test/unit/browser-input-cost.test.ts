import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BrowserFloodError, MessageBudget } from '../../src/console/message-budget.js';
import { ClientMessageFilter } from '../../src/console/rfb/client-messages.js';
import { RfbProtocolError } from '../../src/console/rfb/errors.js';
import { MAX_INPUT_BYTES, TermMessageParser } from '../../src/console/term/messages.js';
import { GROWTH_FACTOR, growthRatio, LINEAR_GROWTH_LIMIT } from '../helpers/cost.js';

const ONE_BYTE = Buffer.from('x');

function cutTextHeader(length: number): Buffer {
  const header = Buffer.alloc(8);
  header[0] = 6;
  header.writeInt32BE(length, 4);
  return header;
}

describe('the cost of a browser message sent in 1-byte frames', () => {
  it('grows linearly for an RFB ClientCutText (N against 4N frames)', () => {
    const ratio = growthRatio((frames) => {
      const filter = new ClientMessageFilter(false, () => {}, 1024 * 1024);
      filter.push(cutTextHeader(frames));
      let passed = 0;
      for (let i = 0; i < frames; i++) passed += filter.push(ONE_BYTE).length;
      assert.equal(passed, frames + 8, 'the whole message passes once complete');
    }, 100_000);
    assert.ok(ratio < LINEAR_GROWTH_LIMIT, `${GROWTH_FACTOR}x the frames cost ${ratio.toFixed(2)}x the CPU time`);
  });

  it('grows linearly for a text console input message (N against 4N frames)', () => {
    const ratio = growthRatio((frames) => {
      const parser = new TermMessageParser();
      parser.push(Buffer.from(`0:${frames}:`));
      let messages = 0;
      for (let i = 0; i < frames; i++) messages += parser.push(ONE_BYTE).length;
      assert.equal(messages, 1);
    }, MAX_INPUT_BYTES / 4);
    assert.ok(ratio < LINEAR_GROWTH_LIMIT, `${GROWTH_FACTOR}x the frames cost ${ratio.toFixed(2)}x the CPU time`);
  });

  it('keeps message boundaries when headers themselves arrive a byte at a time', () => {
    const filter = new ClientMessageFilter(true, () => {});
    const key = Buffer.from([4, 1, 0, 0, 0, 0, 0, 0x61]);
    const fence = Buffer.concat([Buffer.from([248, 0, 0, 0, 0, 0, 0, 0, 2]), Buffer.from('ab')]);
    const encodings = Buffer.from([2, 0, 0, 2, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x21]);
    const update = Buffer.from([3, 1, 0, 0, 0, 0, 0, 1, 0, 1]);
    const stream = Buffer.concat([key, fence, encodings, update, key]);
    const out: Buffer[] = [];
    for (const byte of stream) out.push(filter.push(Buffer.from([byte])));
    // View-only: key events and the fence dropped, the encodings and the update request passed whole.
    assert.deepEqual(Buffer.concat(out), Buffer.concat([encodings, update]));
    assert.equal(filter.atBoundary, true);

    const parser = new TermMessageParser();
    const messages = [...Buffer.from('1:80:24:0:3:abc2')].flatMap((byte) => parser.push(Buffer.from([byte])));
    assert.deepEqual(messages, [{ kind: 'resize', cols: 80, rows: 24 }, { kind: 'input', data: Buffer.from('abc') }, { kind: 'ping' }]);
  });
});

describe('bounds on what a browser may send toward one message', () => {
  it('refuses clipboard text above the configured limit as soon as its header arrives', () => {
    const filter = new ClientMessageFilter(false, () => {}, 1000);
    assert.equal(filter.push(Buffer.concat([cutTextHeader(1000), Buffer.alloc(1000)])).length, 1008);
    assert.throws(() => filter.push(cutTextHeader(1001)), RfbProtocolError);
    // Cut in the middle of its header, too.
    const split = new ClientMessageFilter(false, () => {}, 1000);
    split.push(cutTextHeader(5000).subarray(0, 3));
    assert.throws(() => split.push(cutTextHeader(5000).subarray(3)), RfbProtocolError);
  });
});

describe('MessageBudget', () => {
  it('allows a second of burst, refills at its rate and throws past it', () => {
    let now = 0;
    const budget = new MessageBudget(100, () => now);
    for (let i = 0; i < 100; i++) budget.spend();
    assert.throws(() => budget.spend(), BrowserFloodError);
    now += 500;
    for (let i = 0; i < 50; i++) budget.spend();
    assert.throws(() => budget.spend(), BrowserFloodError);
    now += 10_000;
    // Never more than one second's worth saved up.
    for (let i = 0; i < 100; i++) budget.spend();
    assert.throws(() => budget.spend(), BrowserFloodError);
  });
});
