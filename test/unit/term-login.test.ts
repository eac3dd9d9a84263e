// termproxy's login from the gateway's side: the line it sends, and the answers `OK` (alone or
// followed by terminal output in the same frame), a refusal and silence.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { logInToTerminal, readLoginAnswer, termLoginLine, TermLoginRefusedError, TermLoginTimeoutError } from '../../src/proxmox/term-login.js';

describe('login answer', () => {
  test('OK alone, OK with output, partial and refused', () => {
    assert.deepEqual(readLoginAnswer(Buffer.from('OK')), { state: 'accepted', output: Buffer.alloc(0) });
    assert.deepEqual(readLoginAnswer(Buffer.from('OKlogin: ')), { state: 'accepted', output: Buffer.from('login: ') });
    assert.deepEqual(readLoginAnswer(Buffer.from('O')), { state: 'incomplete' });
    assert.deepEqual(readLoginAnswer(Buffer.alloc(0)), { state: 'incomplete' });
    assert.deepEqual(readLoginAnswer(Buffer.from('NO')), { state: 'refused' });
    assert.deepEqual(readLoginAnswer(Buffer.from('Ok')), { state: 'refused' });
  });

  test('the login line', () => {
    assert.equal(termLoginLine('root@pam', 'PVE:root@pam:6601::abc/+=').toString(), 'root@pam:PVE:root@pam:6601::abc/+=\n');
  });
});

/** A termproxy stand-in: answers the login line with what `answer` returns (null: close). */
describe('logging in over a websocket', () => {
  let wss: WebSocketServer;
  let url: string;
  let answer: (line: string, ws: WebSocket) => void;
  const lines: string[] = [];

  before(async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wss, 'listening');
    url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`;
    wss.on('connection', (ws) => {
      ws.on('error', () => {});
      ws.once('message', (data) => {
        lines.push(String(data));
        answer(String(data), ws);
      });
    });
  });
  after(async () => {
    for (const ws of wss.clients) ws.terminate();
    await new Promise((resolve) => wss.close(resolve));
  });

  async function dial(): Promise<WebSocket> {
    const ws = new WebSocket(url);
    ws.on('error', () => {});
    await once(ws, 'open');
    ws.pause();
    return ws;
  }

  test('OK alone: logged in, no output yet', async () => {
    answer = (_line, ws) => ws.send(Buffer.from('OK'));
    const ws = await dial();
    const terminal = await logInToTerminal(ws, 'user@pve', 'TICKET', 2000);
    assert.equal(lines.at(-1), 'user@pve:TICKET\n');
    assert.equal(terminal.takeOutput().length, 0);
    assert.ok(ws.isPaused, 'handed over paused');
    ws.terminate();
  });

  test('OK and output in one frame, more output in the frames after it', async () => {
    answer = (_line, ws) => {
      ws.send(Buffer.from('OKwelcome\r\n'));
      ws.send(Buffer.from('login: '));
    };
    const ws = await dial();
    const terminal = await logInToTerminal(ws, 'user@pve', 'TICKET', 2000);
    const seen: Buffer[] = [terminal.takeOutput()];
    ws.on('message', (data) => seen.push(data as Buffer));
    ws.resume();
    while (Buffer.concat(seen).length < 'welcome\r\nlogin: '.length) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(Buffer.concat(seen).toString(), 'welcome\r\nlogin: ');
    ws.terminate();
  });

  test('OK split over two frames', async () => {
    answer = (_line, ws) => {
      ws.send(Buffer.from('O'));
      setTimeout(() => ws.send(Buffer.from('K$ ')), 20);
    };
    const terminal = await logInToTerminal(await dial(), 'u@pve', 'T', 2000);
    assert.equal(terminal.takeOutput().toString(), '$ ');
    terminal.ws.terminate();
  });

  test('a closed connection is a refusal', async () => {
    answer = (_line, ws) => ws.terminate();
    await assert.rejects(logInToTerminal(await dial(), 'user@pve!token', 'TICKET', 2000), TermLoginRefusedError);
  });

  test('anything but OK is a refusal', async () => {
    answer = (_line, ws) => ws.send(Buffer.from('ERROR'));
    await assert.rejects(logInToTerminal(await dial(), 'user@pve', 'TICKET', 2000), TermLoginRefusedError);
  });

  test('silence times out', async () => {
    answer = () => {};
    const ws = await dial();
    await assert.rejects(logInToTerminal(ws, 'user@pve', 'TICKET', 200), TermLoginTimeoutError);
    ws.terminate();
  });
});
