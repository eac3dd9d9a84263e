import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClientMessageFilter } from '../../src/console/rfb/client-messages.js';
import { RfbProtocolError } from '../../src/console/rfb/errors.js';

const setPixelFormat = Buffer.concat([Buffer.from([0, 0, 0, 0]), Buffer.alloc(16, 7)]);
const setEncodings = Buffer.from([2, 0, 0, 2, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x21]);
const updateRequest = Buffer.from([3, 1, 0, 0, 0, 0, 3, 0x20, 2, 0x58]);
const keyDown = Buffer.from([4, 1, 0, 0, 0, 0, 0, 0x61]);
const pointer = Buffer.from([5, 1, 0, 10, 0, 20]);
const cutText = Buffer.concat([Buffer.from([6, 0, 0, 0, 0, 0, 0, 5]), Buffer.from('hello')]);
const fence = Buffer.from([248, 0, 0, 0, 0, 0, 0, 1, 2, 0xaa, 0xbb]);
const qemuKey = Buffer.from([255, 0, 0, 1, 0, 0, 0, 0x61, 0, 0, 0, 0x1e]);
const desktopSize = Buffer.concat([Buffer.from([251, 0, 4, 0, 3, 0, 1, 0]), Buffer.alloc(16)]);
const continuous = Buffer.from([150, 1, 0, 0, 0, 0, 3, 0x20, 2, 0x58]);
const xvpReboot = Buffer.from([250, 0, 1, 3]);

const all = [setPixelFormat, setEncodings, updateRequest, keyDown, pointer, cutText, fence, qemuKey, desktopSize, continuous, xvpReboot];
const stream = Buffer.concat(all);

function feedInPieces(filter: ClientMessageFilter, data: Buffer, cut: number): Buffer {
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; at += cut) out.push(filter.push(data.subarray(at, at + cut)));
  return Buffer.concat(out);
}

describe('browser RFB message filter', () => {
  it('passes every message unchanged, whatever the chunking', () => {
    for (let cut = 1; cut <= stream.length; cut++) {
      assert.deepEqual(feedInPieces(new ClientMessageFilter(false), stream, cut), stream, `cut ${cut}`);
    }
  });

  it('holds back a partial message until it is complete', () => {
    const filter = new ClientMessageFilter(false);
    assert.equal(filter.push(keyDown.subarray(0, 5)).length, 0);
    assert.deepEqual(filter.push(keyDown.subarray(5)), keyDown);
  });

  it('lets a view-only viewer send only what showing the screen takes: an allow list (XVP, fences and all input dropped)', () => {
    const kept = Buffer.concat([setPixelFormat, setEncodings, updateRequest]);
    for (let cut = 1; cut <= stream.length; cut += 3) {
      assert.deepEqual(feedInPieces(new ClientMessageFilter(true), stream, cut), kept, `cut ${cut}`);
    }
  });

  it('refuses unknown message types and oversized clipboard text instead of forwarding them', () => {
    assert.throws(() => new ClientMessageFilter(false).push(Buffer.from([7, 0, 0, 0])), RfbProtocolError);
    assert.throws(() => new ClientMessageFilter(false).push(Buffer.from([255, 9, 0, 0])), RfbProtocolError);
    const huge = Buffer.from([6, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff]);
    assert.throws(() => new ClientMessageFilter(false).push(huge), RfbProtocolError);
  });

  it('reports input (keys, pointer, clipboard) for the idle timeout, but not a view-only viewer\'s', () => {
    let inputs = 0;
    const filter = new ClientMessageFilter(false, () => inputs++);
    filter.push(Buffer.concat([setPixelFormat, updateRequest, fence]));
    assert.equal(inputs, 0, 'no input in screen requests');
    filter.push(keyDown);
    filter.push(pointer);
    assert.equal(inputs, 2);
    let viewOnlyInputs = 0;
    new ClientMessageFilter(true, () => viewOnlyInputs++).push(stream);
    assert.equal(viewOnlyInputs, 0);
  });
});
