import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ClientFrameParser, FrameViolation, MAX_FRAME_PAYLOAD, OPCODE_BINARY, OPCODE_CLOSE, OPCODE_PING, OPCODE_PONG, OPCODE_TEXT, type Frame } from '../../sim/ws/frames.js';
import { GROWTH_FACTOR, growthRatio, LINEAR_GROWTH_LIMIT } from '../helpers/cost.js';
import { assertCutsChangeNothing, chunked, failOnUnhandledRejections, fuzz, mutated, randomBytes } from './support.js';

/** A client frame as any RFC 6455 client may write it, length in any of its three encodings. */
interface FrameSpec {
  opcode: number;
  payload: Buffer;
  mask: Buffer;
  /** 'minimal', or the 16- or 64-bit length field even where a shorter one would do. */
  lengthField: 'minimal' | 16 | 64;
}

function encode({ opcode, payload, mask, lengthField }: FrameSpec): Buffer {
  const n = payload.length;
  const field = lengthField === 'minimal' ? (n < 126 ? 7 : n < 0x10000 ? 16 : 64) : lengthField === 16 && n >= 0x10000 ? 64 : lengthField;
  const header = Buffer.alloc(field === 7 ? 2 : field === 16 ? 4 : 10);
  header[0] = 0x80 | opcode;
  header[1] = 0x80 | (field === 7 ? n : field === 16 ? 126 : 127);
  if (field === 16) header.writeUInt16BE(n, 2);
  if (field === 64) header.writeBigUInt64BE(BigInt(n), 2);
  const body = Buffer.alloc(n);
  for (let i = 0; i < n; i++) body[i] = payload[i]! ^ mask[i & 3]!;
  return Buffer.concat([header, mask, body]);
}

const ACCEPTED = [OPCODE_TEXT, OPCODE_BINARY, OPCODE_CLOSE, OPCODE_PING, OPCODE_PONG];

const payload = fc.oneof(
  { weight: 30, arbitrary: randomBytes(200) },
  // Around the 126 and 65536 boundaries of the length encodings, and up to the 128 KiB limit.
  { weight: 1, arbitrary: fc.integer({ min: 120, max: 70_000 }).map((n) => Buffer.alloc(n, n & 0xff)) },
  { weight: 1, arbitrary: fc.constantFrom(MAX_FRAME_PAYLOAD - 1, MAX_FRAME_PAYLOAD).map((n) => Buffer.alloc(n, 0x41)) },
);
const frameSpec: fc.Arbitrary<FrameSpec> = fc.record({
  opcode: fc.constantFrom(...ACCEPTED),
  payload,
  mask: fc.uint8Array({ minLength: 4, maxLength: 4 }).map((a) => Buffer.from(a)),
  lengthField: fc.constantFrom('minimal' as const, 16 as const, 64 as const),
});
const validStream = fc.array(frameSpec, { maxLength: 6 });

/** A header announcing more than pveproxy takes, in the 16-bit field's reach or beyond 32 bits. */
const oversizedHeader = fc.oneof(
  fc.integer({ min: MAX_FRAME_PAYLOAD + 1, max: 0xffffffff }).map((n) => {
    const header = Buffer.from([0x82, 0xff, 0, 0, 0, 0, 0, 0, 0, 0]);
    header.writeUInt32BE(n, 6);
    return header;
  }),
  fc.integer({ min: 1, max: 0xffffffff }).map((high) => {
    const header = Buffer.from([0x82, 0xff, 0, 0, 0, 0, 0, 0, 0, 0]);
    header.writeUInt32BE(high, 2);
    return header;
  }),
);

const anyStream = fc.oneof(
  validStream.map((specs) => Buffer.concat(specs.map(encode))),
  mutated(validStream.map((specs) => Buffer.concat(specs.map(encode)))),
  fc.tuple(validStream, oversizedHeader).map(([specs, header]) => Buffer.concat([...specs.map(encode), header])),
  randomBytes(300),
);

const transcriptOf = (frame: Frame) => `${frame.opcode}:${frame.payload.toString('hex')}\n`;

function openParser(): (chunk: Buffer) => string {
  const parser = new ClientFrameParser();
  return (chunk) =>
    parser
      .push(chunk)
      .map((frame) => {
        // The relay writes each payload upstream as it is: nothing over pveproxy's limit may pass.
        assert.ok(frame.payload.length <= MAX_FRAME_PAYLOAD);
        return transcriptOf(frame);
      })
      .join('');
}

describe("fuzzing the simulator's websocket frame parser", () => {
  failOnUnhandledRejections();

  it('gives back every valid frame as written, however the stream is cut', async () => {
    await fuzz(
      fc.property(validStream.chain((specs) => chunked(fc.constant(Buffer.concat(specs.map(encode)))).map((c) => ({ specs, ...c }))), ({ specs, chunks }) => {
        const push = openParser();
        assert.equal(chunks.map(push).join(''), specs.map(transcriptOf).join(''));
      }),
    );
  });

  it('refuses only with FrameViolation, and the cuts change nothing but how far it got', async () => {
    await fuzz(fc.property(chunked(anyStream), ({ whole, chunks }) => assertCutsChangeNothing(whole, chunks, openParser, FrameViolation)));
  });
});

describe("the cost of the simulator's frame parser", () => {
  const largest = encode({ opcode: OPCODE_BINARY, payload: Buffer.alloc(MAX_FRAME_PAYLOAD, 0x41), mask: Buffer.from([1, 2, 3, 4]), lengthField: 'minimal' });
  const mebibyte = Buffer.concat(Array.from({ length: 8 }, () => largest));

  it('grows linearly for 1 MiB of the largest frames pveproxy takes, in 1-byte chunks (N against 4N)', () => {
    const ratio = growthRatio((frames) => {
      const parser = new ClientFrameParser();
      const stream = mebibyte.subarray(0, frames * largest.length);
      let parsed = 0;
      for (let i = 0; i < stream.length; i++) parsed += parser.push(stream.subarray(i, i + 1)).length;
      assert.equal(parsed, frames);
    }, 2, { trials: 3 });
    assert.ok(ratio < LINEAR_GROWTH_LIMIT, `${GROWTH_FACTOR}x the bytes cost ${ratio.toFixed(2)}x the CPU time`);
  });
});
