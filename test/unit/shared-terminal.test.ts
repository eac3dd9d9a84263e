// The shared text console's fan-out, with a stand-in upstream socket and node:test's fake timers
// (no sleeps): one terminal per session, its output to every viewer, their input merged, a joining
// viewer sent the recent output, the size of the latest to resize, and the reconnect grace.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import fc from 'fast-check';
import { describe, it, mock } from 'node:test';
import type WebSocket from 'ws';
import { SCROLLBACK_BYTES, SharedTerminals, SLOW_VIEWER_MS, VIEWER_HIGH_WATER, type TermViewer, type TerminalEnd } from '../../src/console/term/shared-terminal.js';
import { Scrollback } from '../../src/console/term/scrollback.js';
import { TermProtocolError } from '../../src/console/term/messages.js';
import { silentLogger } from '../../src/log.js';
import { ProxmoxError } from '../../src/proxmox/errors.js';
import type { LoggedInTerminal } from '../../src/proxmox/term-login.js';
import { settle, useMockTimers } from '../helpers/clock.js';

const GRACE_MS = 300_000;
const OPEN_TIMEOUT_MS = 10_000;

/** termproxy's websocket as the shared terminal uses it: messages in, frames out, pause and close. */
class FakeUpstream extends EventEmitter {
  readyState = 1;
  readonly sent: string[] = [];
  paused = false;
  send(data: Buffer, _options: unknown, written?: () => void): void {
    this.sent.push(String(data));
    written?.();
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  close(): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.emit('close');
  }
  terminate(): void {
    this.close();
  }
  /** Terminal output, as termproxy sends it. */
  print(text: string | Buffer): void {
    this.emit('message', typeof text === 'string' ? Buffer.from(text) : text);
  }
  get closed(): boolean {
    return this.readyState === 3;
  }
  /** What reached the terminal besides keep-alive pings. */
  get received(): string {
    return this.sent.filter((m) => m !== '2').join('');
  }
}

class FakeViewer implements TermViewer {
  readyCalls = 0;
  text = '';
  end: TerminalEnd | undefined;
  /** When false, output stays "unwritten" until flush(): a browser that does not keep up. */
  writes = true;
  private unwritten: (() => void)[] = [];
  ready(): void {
    this.readyCalls++;
  }
  output(bytes: Buffer, written: () => void): void {
    this.text += bytes.toString('utf8');
    if (this.writes) written();
    else this.unwritten.push(written);
  }
  ended(end: TerminalEnd): void {
    this.end = end;
  }
  flush(): void {
    for (const written of this.unwritten.splice(0)) written();
  }
}

function harness() {
  const upstreams: FakeUpstream[] = [];
  const signals: AbortSignal[] = [];
  let failWith: Error | undefined;
  let hold = false;
  const pending: (() => void)[] = [];
  const terminals = new SharedTerminals({ graceMs: GRACE_MS, openTimeoutMs: OPEN_TIMEOUT_MS, log: silentLogger });
  const open = (signal: AbortSignal): Promise<LoggedInTerminal> => {
    signals.push(signal);
    if (failWith) return Promise.reject(failWith);
    const upstream = new FakeUpstream();
    upstreams.push(upstream);
    const terminal: LoggedInTerminal = { ws: upstream as unknown as WebSocket, takeOutput: () => Buffer.from('banner\r\n# ') };
    if (!hold) return Promise.resolve(terminal);
    return new Promise((resolve) => pending.push(() => resolve(terminal)));
  };
  const join = (viewer: TermViewer, viewOnly = false, session = 's1', guest = `guest-of-${session}`) => terminals.join(session, guest, open, viewer, { viewOnly });
  return {
    terminals,
    upstreams,
    signals,
    join,
    failNext: (error: Error) => (failWith = error),
    holdOpening: () => (hold = true),
    finishOpening: () => pending.splice(0).forEach((go) => go()),
  };
}

const input = (text: string) => Buffer.from(`0:${Buffer.byteLength(text)}:${text}`);
const resize = (cols: number, rows: number) => Buffer.from(`1:${cols}:${rows}:`);

describe('a session’s shared terminal', () => {
  useMockTimers(['setTimeout', 'setInterval']);

  it('opens one upstream for all viewers, sends its output to each, and merges their input in order', async () => {
    const h = harness();
    const a = new FakeViewer();
    const b = new FakeViewer();
    const va = h.join(a);
    const vb = h.join(b);
    await settle();
    assert.equal(h.upstreams.length, 1, 'one termproxy for the session');
    assert.deepEqual([a.readyCalls, b.readyCalls], [1, 1]);
    assert.equal(a.text, 'banner\r\n# ');
    va.input(input('ls'));
    vb.input(input('\r'));
    va.input(Buffer.from('2'));
    assert.equal(h.upstreams[0]!.received, '0:2:ls0:1:\r', "both viewers' input, in arrival order; a viewer's ping is not forwarded");
    h.upstreams[0]!.print('ls\r\nbin etc\r\n# ');
    assert.equal(a.text, b.text);
    assert.match(b.text, /bin etc/);
  });

  it("drops a view-only viewer's input but takes its resize", async () => {
    const h = harness();
    const owner = h.join(new FakeViewer());
    const watcher = h.join(new FakeViewer(), true);
    await settle();
    watcher.input(Buffer.concat([input('rm -rf /\r'), resize(120, 40)]));
    owner.input(input('x'));
    assert.equal(h.upstreams[0]!.received, '1:120:40:0:1:x');
  });

  it('sends a joining viewer the recent output, so it sees the current screen', async () => {
    const h = harness();
    const first = new FakeViewer();
    h.join(first).input(input('hostname\r'));
    await settle();
    h.upstreams[0]!.print('hostname\r\nweb01\r\n# ');
    const second = new FakeViewer();
    h.join(second);
    assert.equal(second.readyCalls, 1, 'the terminal is already open: ready at once');
    assert.equal(second.text, first.text);
    assert.equal(h.upstreams.length, 1);
  });

  it(`keeps at most ${SCROLLBACK_BYTES} bytes of output for a joiner, starting after a line end`, async () => {
    const h = harness();
    h.join(new FakeViewer());
    await settle();
    const line = `${'x'.repeat(99)}\n`;
    for (let i = 0; i < 2000; i++) h.upstreams[0]!.print(line);
    h.upstreams[0]!.print('tail');
    const late = new FakeViewer();
    h.join(late);
    assert.ok(late.text.length <= SCROLLBACK_BYTES, `${late.text.length} bytes replayed`);
    assert.ok(late.text.length > SCROLLBACK_BYTES - line.length - 8, 'nearly the whole bound');
    assert.ok(late.text.startsWith('x'.repeat(99)), 'whole lines');
    assert.ok(late.text.endsWith('\ntail'), 'the newest output last');
  });

  it('closes the upstream only once the grace passed after the last viewer left', async () => {
    const h = harness();
    const viewer = h.join(new FakeViewer());
    await settle();
    viewer.leave();
    mock.timers.tick(GRACE_MS - 1);
    assert.equal(h.upstreams[0]!.closed, false, 'still open within the grace');
    assert.equal(h.terminals.count, 1);
    mock.timers.tick(1);
    assert.equal(h.upstreams[0]!.closed, true, 'closed at the end of the grace');
    assert.equal(h.terminals.count, 0);
    h.join(new FakeViewer());
    await settle();
    assert.equal(h.upstreams.length, 2, 'a viewer after the grace gets a new terminal');
  });

  it('a viewer back within the grace finds the same terminal, and the grace starts again when it leaves', async () => {
    const h = harness();
    const first = h.join(new FakeViewer());
    await settle();
    first.leave();
    mock.timers.tick(GRACE_MS - 1000);
    const back = new FakeViewer();
    const rejoined = h.join(back);
    assert.equal(h.upstreams.length, 1, 'no second termproxy');
    assert.equal(back.text, 'banner\r\n# ', 'with the screen as it was');
    mock.timers.tick(5000);
    assert.equal(h.upstreams[0]!.closed, false, 'the first grace no longer runs');
    rejoined.leave();
    mock.timers.tick(GRACE_MS);
    assert.equal(h.upstreams[0]!.closed, true);
  });

  it('the session ending closes its terminal at once', async () => {
    const h = harness();
    const viewer = new FakeViewer();
    h.join(viewer);
    await settle();
    h.terminals.end('s1');
    assert.equal(h.upstreams[0]!.closed, true);
    assert.deepEqual(viewer.end, { reason: 'upstream_closed' });
  });

  it('takes the size of the latest viewer to resize; when it leaves, the one before', async () => {
    const h = harness();
    const a = h.join(new FakeViewer());
    const b = h.join(new FakeViewer());
    a.input(resize(100, 30));
    await settle();
    const up = h.upstreams[0]!;
    const received = (): string => up.received;
    assert.equal(received(), '1:100:30:', 'an early resize is sent once the terminal is open');
    b.input(resize(80, 24));
    a.input(resize(100, 30));
    b.input(resize(90, 20));
 assert.equal(received(), '1:100:30:1:80:24:1:100:30:1:90:20:');
    b.leave();
    assert.equal(received().slice(-'1:100:30:'.length), '1:100:30:', "back to the remaining viewer's size");
    b.leave();
    a.input(resize(100, 30));
    assert.equal(received(), '1:100:30:1:80:24:1:100:30:1:90:20:1:100:30:', 'an unchanged size is not sent again');
  });

  it('a terminal that cannot be opened ends every waiting viewer, and the next viewer tries again', async () => {
    const h = harness();
    h.failNext(new ProxmoxError('guest_not_running', 'not running'));
    const a = new FakeViewer();
    const b = new FakeViewer();
    h.join(a);
    h.join(b);
    await settle();
    assert.equal(a.end?.reason, 'upstream_failed');
    assert.equal(b.end?.reason, 'upstream_failed');
    assert.equal(h.terminals.count, 0);
    h.join(new FakeViewer());
    assert.equal(h.signals.length, 2, 'opened again');
  });

  it('an opening that takes longer than the timeout fails with proxmox_timeout', () => {
    const h = harness();
    h.holdOpening();
    const viewer = new FakeViewer();
    h.join(viewer);
    mock.timers.tick(OPEN_TIMEOUT_MS);
    assert.equal(viewer.end?.reason, 'upstream_failed');
    const end = viewer.end as { error: Error } | undefined;
    assert.ok(end?.error instanceof ProxmoxError && end.error.code === 'proxmox_timeout', String(end?.error));
    assert.equal(h.signals[0]!.aborted, true);
  });

  it('the last viewer leaving while the terminal opens cancels the opening; a late terminal is closed', async () => {
    const h = harness();
    h.holdOpening();
    h.join(new FakeViewer()).leave();
    assert.equal(h.signals[0]!.aborted, true);
    assert.equal(h.terminals.count, 0);
    h.finishOpening();
    await settle();
    assert.equal(h.upstreams[0]!.closed, true);
  });

  it('the upstream ending ends every viewer; the session gets a new terminal next time', async () => {
    const h = harness();
    const a = new FakeViewer();
    h.join(a);
    await settle();
    h.upstreams[0]!.close();
    assert.deepEqual(a.end, { reason: 'upstream_closed' });
    assert.equal(h.terminals.count, 0);
  });

  it('sessions do not share terminals', async () => {
    const h = harness();
    const a = new FakeViewer();
    const b = new FakeViewer();
    h.join(a, false, 's1');
    h.join(b, false, 's2');
    await settle();
    assert.equal(h.upstreams.length, 2);
    h.upstreams[0]!.print('only s1');
    assert.ok(a.text.includes('only s1'));
    assert.ok(!b.text.includes('only s1'));
  });

  it('stops reading the terminal while a viewer is over a MiB behind, and reads on once it caught up', async () => {
    const h = harness();
    const fast = new FakeViewer();
    const slow = new FakeViewer();
    h.join(fast);
    h.join(slow);
    await settle();
    slow.writes = false;
    const up = h.upstreams[0]!;
    up.print(Buffer.alloc(1024 * 1024 + 1, 0x61));
    assert.equal(up.paused, true);
    slow.flush();
    assert.equal(up.paused, false);
  });

  it('lets go of a viewer that keeps the terminal unread while a co-viewer waits, after SLOW_VIEWER_MS', async () => {
    const h = harness();
    const ready = new FakeViewer();
    const asleep = new FakeViewer();
    h.join(ready);
    h.join(asleep);
    await settle();
    asleep.writes = false;
    const up = h.upstreams[0]!;
    up.print(Buffer.alloc(VIEWER_HIGH_WATER + 1, 0x61));
    assert.equal(up.paused, true, 'paused for the one behind');
    mock.timers.tick(SLOW_VIEWER_MS - 1);
    assert.equal(asleep.end, undefined);
    mock.timers.tick(1);
    assert.deepEqual(asleep.end, { reason: 'browser_too_slow' });
    assert.equal(up.paused, false, 'the ready viewer reads on');
    up.print('after');
    assert.ok(ready.text.endsWith('after'));
    assert.ok(!asleep.text.endsWith('after'), 'nothing more for the viewer let go');
    assert.equal(ready.end, undefined);
    assert.equal(up.closed, false, 'the terminal stays');
  });

  it('never lets go of a slow viewer that is alone, or of viewers all behind: they wait only for themselves', async () => {
    const h = harness();
    const alone = new FakeViewer();
    h.join(alone);
    await settle();
    alone.writes = false;
    const up = h.upstreams[0]!;
    up.print(Buffer.alloc(VIEWER_HIGH_WATER + 1, 0x61));
    mock.timers.tick(SLOW_VIEWER_MS * 3);
    assert.equal(alone.end, undefined);
    assert.equal(up.paused, true);
    alone.flush();
    assert.equal(up.paused, false);

    const second = new FakeViewer();
    h.join(second);
    second.writes = false;
    up.print(Buffer.alloc(VIEWER_HIGH_WATER + 1, 0x62));
    assert.equal(up.paused, true);
    mock.timers.tick(SLOW_VIEWER_MS * 3);
    assert.deepEqual([alone.end, second.end], [undefined, undefined], 'both behind: neither waits for the other');
    alone.flush();
    second.flush();
    assert.equal(up.paused, false);
    mock.timers.tick(SLOW_VIEWER_MS * 3);
    assert.deepEqual([alone.end, second.end], [undefined, undefined], 'caught up: nothing left to let go');
  });

  it('refuses more than 64 KiB of input before the terminal is ready', () => {
    const h = harness();
    h.holdOpening();
    const viewer = h.join(new FakeViewer());
    const chunk = input('y'.repeat(60_000));
    viewer.input(chunk);
    assert.throws(() => viewer.input(chunk), TermProtocolError);
  });

  it('sends a keep-alive ping every 30 s, with or without viewers', async () => {
    const h = harness();
    const viewer = h.join(new FakeViewer());
    await settle();
    mock.timers.tick(30_000);
    viewer.leave();
    mock.timers.tick(30_000);
    assert.deepEqual(h.upstreams[0]!.sent, ['2', '2']);
  });
});

describe('terminals of one guest in several sessions', () => {
  useMockTimers(['setTimeout', 'setInterval']);

  it("a session's terminal without viewers gives way to another session of the same guest; one with viewers does not", async () => {
    const h = harness();
    const first = h.join(new FakeViewer(), false, 's1', 'vm100');
    await settle();
    first.leave();
    h.join(new FakeViewer(), false, 's2', 'vm100');
    assert.equal(h.upstreams[0]!.closed, true, "the idle terminal is closed before the other session's opens");
    await settle();
    const watcher = new FakeViewer();
    h.join(watcher, false, 's3', 'vm200');
    h.join(new FakeViewer(), false, 's4', 'vm200');
    await settle();
    assert.equal(h.upstreams[1]!.closed, false);
    assert.equal(h.upstreams[2]!.closed, false, 'a watched terminal stays: the other session waits its turn, as on Proxmox');
    assert.equal(watcher.end, undefined);
  });
});

describe('the scrollback', () => {
  it('keeps everything up to its bound, then the newest bytes from a line end', () => {
    const s = new Scrollback(10);
    s.push(Buffer.from('abc'));
    s.push(Buffer.from('def'));
    assert.equal(String(s.replay()), 'abcdef');
    s.push(Buffer.from('g\nhijk'));
    assert.equal(s.size, 10);
    assert.equal(String(s.replay()), 'hijk', 'cut after the first line end of what is kept');
    s.push(Buffer.from('0123456789ABCDEF'));
    assert.equal(String(s.replay()), '6789ABCDEF', 'no line end: the newest bytes');
  });

  it('holds what keeping all output and cutting it would, however the output is cut into pieces', () => {
    const pieces = fc.array(fc.oneof(fc.constantFrom('\n', 'x'), fc.string({ maxLength: 40 }), fc.string({ minLength: 60, maxLength: 200 })), { maxLength: 60 });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), pieces, (limit, texts) => {
        const s = new Scrollback(limit);
        let all = '';
        for (const text of texts) {
          s.push(Buffer.from(text, 'latin1'));
          all += text;
        }
        const kept = all.slice(-limit);
        const lineEnd = kept.indexOf('\n');
        const expected = all.length > limit && lineEnd >= 0 ? kept.slice(lineEnd + 1) : kept;
        assert.equal(s.replay().toString('latin1'), expected);
        assert.equal(s.size, kept.length);
      }),
      { seed: 20261202, numRuns: 2000 },
    );
  });

  it('a replay is a copy: output pushed after it does not change it', () => {
    const s = new Scrollback(8);
    s.push(Buffer.from('abcdefgh'));
    const replay = s.replay();
    s.push(Buffer.from('12345678'));
    assert.equal(String(replay), 'abcdefgh');
  });
});
