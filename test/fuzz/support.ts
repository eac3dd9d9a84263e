// What every fuzz file shares: how many cases, which seed, and the process-wide properties
// (no unhandled rejection, heap back to where it was).
import assert from 'node:assert/strict';
import { after } from 'node:test';
import fc from 'fast-check';
import { settledHeapBytes } from '../helpers/heap.js';

/** The case count `npm test` runs for a property of ordinary cost. */
const TEST_RUNS = 2000;

const requestedRuns = Number(process.env.FUZZ_RUNS ?? '');

/**
 * A fixed seed, so a failure in `npm test` is the same failure on the next run and on another
 * machine; `FUZZ_SEED` explores elsewhere (fast-check prints the seed of any counterexample).
 */
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? '20250902');

/**
 * Cases for a property whose `npm test` count is `base`. `npm run fuzz` sets FUZZ_RUNS (100,000):
 * every property then runs FUZZ_RUNS / TEST_RUNS times as many, the slow ones included.
 */
function fuzzRuns(base = TEST_RUNS): number {
  if (!Number.isFinite(requestedRuns) || requestedRuns <= 0) return base;
  return Math.max(1, Math.round((base * requestedRuns) / TEST_RUNS));
}

/**
 * Splits `bytes` at arbitrary points: the cuts a network, a proxy or a hostile browser may make.
 * Single-byte pieces are favoured, since they are the worst case for a parser that holds state.
 */
export function chunked(bytes: fc.Arbitrary<Buffer>): fc.Arbitrary<{ whole: Buffer; chunks: Buffer[] }> {
  return bytes.chain((whole) =>
    fc
      .array(fc.oneof(fc.constant(1), fc.integer({ min: 0, max: 16 }), fc.integer({ min: 1, max: Math.max(1, whole.length) })), { minLength: 1, maxLength: 64 })
      .map((sizes) => {
        const chunks: Buffer[] = [];
        let at = 0;
        for (let i = 0; at < whole.length; i++) {
          let size = sizes[i % sizes.length]!;
          // An empty websocket message is legal: it goes in, and the stream still moves on.
          if (size === 0) {
            chunks.push(whole.subarray(at, at));
            size = 1;
          }
          chunks.push(whole.subarray(at, at + size));
          at += size;
        }
        return { whole, chunks };
      }),
  );
}

/** Bytes that are mostly not garbage: `valid` streams with bytes flipped, cut or spliced in. */
export function mutated(valid: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer> {
  const edit = fc.record({ at: fc.nat(), kind: fc.constantFrom('flip', 'cut', 'insert'), byte: fc.integer({ min: 0, max: 255 }) });
  return fc.tuple(valid, fc.array(edit, { minLength: 1, maxLength: 4 })).map(([bytes, edits]) => {
    let out = Buffer.from(bytes);
    for (const { at, kind, byte } of edits) {
      const i = out.length === 0 ? 0 : at % out.length;
      if (kind === 'flip' && out.length > 0) out[i] = byte;
      else if (kind === 'cut') out = out.subarray(0, i);
      else out = Buffer.concat([out.subarray(0, i), Buffer.from([byte]), out.subarray(i)]);
    }
    return out;
  });
}

/** What a fresh parser made of a stream: its output as text, and whether it refused the stream. */
interface Fed {
  transcript: string;
  refused: boolean;
}

type ErrorClass = abstract new (...args: never[]) => Error;

function feed(chunks: Buffer[], push: (chunk: Buffer) => string, refusal: ErrorClass): Fed {
  let transcript = '';
  try {
    for (const chunk of chunks) transcript += push(chunk);
  } catch (error) {
    // Any other error would escape its caller's handling of bad input as a crash of its own kind.
    if (!(error instanceof refusal)) throw error;
    return { transcript, refused: true };
  }
  return { transcript, refused: false };
}

/**
 * The property every incremental parser of untrusted bytes here must have: it refuses bad input
 * only with `refusal`, and where the stream is cut changes nothing but how much passed before a
 * refusal. `open` makes a fresh parser and gives its push, output rendered as text.
 */
export function assertCutsChangeNothing(whole: Buffer, chunks: Buffer[], open: () => (chunk: Buffer) => string, refusal: ErrorClass): void {
  const once = feed([whole], open(), refusal);
  const cut = feed(chunks, open(), refusal);
  assert.equal(cut.refused, once.refused, 'refused whole and cut alike');
  if (!once.refused) assert.equal(cut.transcript, once.transcript);
  if (whole.length > 8192) return;
  // Byte by byte, all that comes before the bad part passes: any other cut passes a prefix of it.
  const bytewise = feed([...whole].map((byte) => Buffer.from([byte])), open(), refusal);
  assert.equal(bytewise.refused, once.refused, 'refused whole and byte by byte alike');
  assert.ok(bytewise.transcript.startsWith(cut.transcript), 'what passed is a prefix of what passes byte by byte');
}

export const randomBytes = (maxLength = 256): fc.Arbitrary<Buffer> => fc.uint8Array({ maxLength }).map((a) => Buffer.from(a));

/**
 * Checks a property on `base` cases (scaled by FUZZ_RUNS), and that the heap afterwards is within
 * 10% of before, with forced collections. A short run first warms up what is allocated once
 * (compiled code, connection pools, lazily built tables), so only what the cases keep is measured.
 */
export async function fuzz<Ts>(property: fc.IRawProperty<Ts>, base = TEST_RUNS): Promise<void> {
  // The failed assertion's own message in the report: node's runner does not print an error's cause.
  const parameters = { seed: FUZZ_SEED, includeErrorInReport: true };
  await fc.assert(property, { ...parameters, numRuns: Math.min(100, Math.ceil(base / 5)) });
  const before = await settledHeapBytes();
  await fc.assert(property, { ...parameters, numRuns: fuzzRuns(base) });
  const after = await settledHeapBytes();
  const growth = (after - before) / before;
  assert.ok(growth <= 0.1, `heap grew by ${(growth * 100).toFixed(1)}% (${(before / 2 ** 20).toFixed(1)} MiB to ${(after / 2 ** 20).toFixed(1)} MiB)`);
}

/**
 * Collects unhandled rejections while a suite runs. Node's runner fails the test it ties one to,
 * but one from the gateway's own work (its sockets, its timers) may tie to a hook or to a test
 * already finished: this makes the fuzzing suite fail either way.
 */
export function watchUnhandledRejections(): { assertNone(): void; stop(): void } {
  const seen: unknown[] = [];
  const listener = (reason: unknown) => seen.push(reason);
  process.on('unhandledRejection', listener);
  return {
    assertNone() {
      assert.deepEqual(seen.map((reason) => (reason instanceof Error ? reason.stack : String(reason))), []);
    },
    stop() {
      process.off('unhandledRejection', listener);
    },
  };
}

/** In a describe block: its suite fails when anything in it left a rejection unhandled. */
export function failOnUnhandledRejections(): void {
  const watch = watchUnhandledRejections();
  after(() => {
    watch.assertNone();
    watch.stop();
  });
}
