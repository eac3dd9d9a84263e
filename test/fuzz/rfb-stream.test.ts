import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { ClientMessageFilter } from '../../src/console/rfb/client-messages.js';
import { RfbProtocolError } from '../../src/console/rfb/errors.js';
import { openConsoleSocket } from '../helpers/gateway.js';
import { startFuzzGateway, type ConsoleSession, type FuzzGateway } from './gateway-fixture.js';
import { assertCutsChangeNothing, chunked, failOnUnhandledRejections, fuzz, mutated, randomBytes } from './support.js';

/** The clipboard limit the filters here are made with; lengths around it are generated. */
const MAX_CUT_TEXT = 1024;

/** One client message of RFB 3.8 or of the extensions noVNC sends, as a browser could write it. */
interface ClientMessage {
  type: number;
  bytes: Buffer;
}

const bytesOf = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((a) => Buffer.from(a));

function fixed(type: number, length: number): fc.Arbitrary<ClientMessage> {
  return bytesOf(length - 1).map((rest) => {
    const bytes = Buffer.concat([Buffer.from([type]), rest]);
    // QEMU's client message: noVNC sends only sub-type 0, the extended key event.
    if (type === 255) bytes[1] = 0;
    return { type, bytes };
  });
}

/** A header with a count or length field at `at`, then that much body. */
function counted(type: number, header: number, write: (b: Buffer, n: number) => void, count: fc.Arbitrary<number>, unit: number): fc.Arbitrary<ClientMessage> {
  return fc.tuple(count, bytesOf(header - 1)).chain(([n, rest]) =>
    bytesOf(Math.abs(n) * unit).map((body) => {
      const head = Buffer.concat([Buffer.from([type]), rest]);
      write(head, n);
      return { type, bytes: Buffer.concat([head, body]) };
    }),
  );
}

const clientMessage: fc.Arbitrary<ClientMessage> = fc.oneof(
  fixed(0, 20), // SetPixelFormat
  fixed(3, 10), // FramebufferUpdateRequest
  fixed(150, 10), // EnableContinuousUpdates
  fixed(4, 8), // KeyEvent
  fixed(5, 6), // PointerEvent
  fixed(250, 4), // XVP
  fixed(255, 12), // QEMU extended key event
  counted(2, 4, (b, n) => b.writeUInt16BE(n, 2), fc.integer({ min: 0, max: 40 }), 4), // SetEncodings
  // ClientCutText, a negative length for the extended clipboard, up to the limit.
  counted(6, 8, (b, n) => b.writeInt32BE(n, 4), fc.oneof(fc.integer({ min: -64, max: 64 }), fc.constantFrom(MAX_CUT_TEXT, -MAX_CUT_TEXT)), 1),
  counted(248, 9, (b, n) => (b[8] = n), fc.integer({ min: 0, max: 64 }), 1), // ClientFence
  counted(251, 8, (b, n) => (b[6] = n), fc.integer({ min: 0, max: 4 }), 16), // SetDesktopSize
);
const messages = fc.array(clientMessage, { maxLength: 10 });
const joined = (list: ClientMessage[]) => Buffer.concat(list.map((m) => m.bytes));

/** A clipboard header announcing more than the limit, in either sign. */
const oversizedCutText = fc.integer({ min: MAX_CUT_TEXT + 1, max: 0x7fffffff }).chain((n) =>
  fc.constantFrom(n, -n).map((length) => {
    const header = Buffer.from([6, 0, 0, 0, 0, 0, 0, 0]);
    header.writeInt32BE(length, 4);
    return header;
  }),
);
const anyStream = fc.oneof(
  messages.map(joined),
  mutated(messages.map(joined)),
  fc.tuple(messages, oversizedCutText).map(([list, header]) => Buffer.concat([joined(list), header])),
  randomBytes(200),
);

/** Keyboard, pointer, clipboard, resize, QEMU keys: never from a view-only viewer. */
const INPUT_TYPES = new Set([4, 5, 6, 251, 255]);
/** What a view-only viewer needs to see at all: these always pass. */
const VIEWING_TYPES = new Set([0, 2, 3]);

function openFilter(viewOnly: boolean): () => (chunk: Buffer) => string {
  return () => {
    const filter = new ClientMessageFilter(viewOnly, () => {}, MAX_CUT_TEXT);
    return (chunk) => filter.push(chunk).toString('hex');
  };
}

describe("fuzzing the browser's RFB stream through the message filter", () => {
  failOnUnhandledRejections();

  it('passes every message of a full-control viewer whole, however the stream is cut, and reports its input', async () => {
    await fuzz(
      fc.property(messages.chain((list) => chunked(fc.constant(joined(list))).map((c) => ({ list, ...c }))), ({ list, whole, chunks }) => {
        let inputs = 0;
        const filter = new ClientMessageFilter(false, () => inputs++, MAX_CUT_TEXT);
        const passed: Buffer[] = [];
        for (const chunk of chunks) passed.push(filter.push(chunk));
        assert.deepEqual(Buffer.concat(passed), whole);
        assert.equal(filter.atBoundary, true);
        assert.equal(inputs > 0, list.some((m) => INPUT_TYPES.has(m.type)));
      }),
    );
  });

  it('lets nothing of a view-only viewer pass that is input, and all that viewing needs', async () => {
    // Types that are neither (fences, XVP, continuous updates) pass always or never: which, is
    // the filter's policy, learnt here from each type's first message alone.
    const policy = new Map<number, boolean>();
    const passes = (m: ClientMessage): boolean => {
      if (INPUT_TYPES.has(m.type)) return false;
      if (VIEWING_TYPES.has(m.type)) return true;
      const alone = new ClientMessageFilter(true, () => {}, MAX_CUT_TEXT).push(m.bytes).length > 0;
      assert.equal(policy.get(m.type) ?? alone, alone, `type ${m.type} passes only sometimes`);
      policy.set(m.type, alone);
      return alone;
    };
    await fuzz(
      fc.property(messages.chain((list) => chunked(fc.constant(joined(list))).map((c) => ({ list, ...c }))), ({ list, chunks }) => {
        const filter = new ClientMessageFilter(true, () => assert.fail('input reported for a view-only viewer'), MAX_CUT_TEXT);
        const passed = Buffer.concat(chunks.map((chunk) => filter.push(chunk)));
        assert.deepEqual(passed, joined(list.filter(passes)));
      }),
    );
  });

  for (const viewOnly of [false, true]) {
    it(`refuses only with RfbProtocolError, and the cuts change nothing but how far it got (${viewOnly ? 'view-only' : 'full control'})`, async () => {
      await fuzz(fc.property(chunked(anyStream), ({ whole, chunks }) => assertCutsChangeNothing(whole, chunks, openFilter(viewOnly), RfbProtocolError)));
    });
  }
});

/** Websocket cases: each opens a console on the simulator, so far fewer of them. */
const WEBSOCKET_RUNS = 100;
/**
 * How long a case waits for the gateway to answer its last update request, or to close. Some
 * streams end inside a message, which then swallows the request: they wait it out, so it is short.
 */
const ANSWER_WAIT_MS = 500;
/**
 * Sessions the cases take turns on, as a page reconnects: a bad stream costs its connection, never
 * its session. Taking turns gives each viewer's leave time to land before its session's next join
 * (max_viewers_per_session is 2).
 */
const SESSIONS = 4;

describe("fuzzing the browser's RFB stream through a real websocket to the gateway", () => {
  let fg: FuzzGateway;
  const sessions: ConsoleSession[] = [];
  let turn = 0;
  before(async () => {
    fg = await startFuzzGateway();
    for (let i = 0; i < SESSIONS; i++) sessions.push(await fg.openSession());
  });
  after(async () => {
    await fg?.stop();
  });

  /** Opens a console, sends `chunks` as websocket messages, then asks for an update. */
  async function send(chunks: Buffer[]): Promise<void> {
    const session = sessions[turn++ % SESSIONS]!;
    const opened = await openConsoleSocket(session.wsUrl, { origin: fg.tg.origin, cookie: session.cookie });
    assert.equal(opened.status, 101, 'the session outlived the bad streams sent on it before');
    const { client, ws } = opened;
    assert.equal((await client!.handshake({})).securityResult, 0);
    const closed = new Promise<number>((resolve) => ws!.once('close', (code) => resolve(code)));
    const answer = new Promise<void>((resolve) => ws!.once('message', () => resolve()));
    for (const chunk of chunks) ws!.send(chunk);
    client!.requestUpdate(false, 0, 0, 4, 4);
    const timer = new Promise<void>((resolve) => setTimeout(resolve, ANSWER_WAIT_MS).unref());
    const outcome = await Promise.race([closed.then((code) => `closed ${code}`), answer.then(() => 'answered'), timer.then(() => 'no answer')]);
    // A refusal is a policy close (1008) or the console ending (1000), never an internal error.
    assert.ok(outcome === 'answered' || outcome === 'no answer' || outcome === 'closed 1008' || outcome === 'closed 1000', outcome);
    ws!.terminate();
    await closed;
    fg.checkLogs();
  }

  it('closes a bad stream with 1008 at most, keeps its session, and keeps every other console streaming', async () => {
    fg.streaming.mark();
    await fuzz(fc.asyncProperty(chunked(anyStream), ({ chunks }) => send(chunks)), WEBSOCKET_RUNS);
    await fg.assertHealthy();
  });
});
