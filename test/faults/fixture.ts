// What the fault suite's files share: a simulator whose guest 100 the faults hit, an in-process
// gateway in front of it with a short Proxmox timeout, and a console on guest 300 of the same
// simulator that streams through the gateway the whole time. The faults act on new connections
// and calls only, so that console must not notice any of them.
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startSimulator, type Simulator } from '../../sim/index.js';
import { createToken, openConsoleSocket, redeem, startTestGateway, type CreateAnswer, type TestGateway } from '../helpers/gateway.js';
import { poll } from '../helpers/poll.js';
import type { HandshakeResult } from '../helpers/rfb-client.js';
import { StreamingConsole } from '../helpers/streaming-console.js';

/** Seconds the gateway waits for Proxmox: a fault's delay of twice that is a timeout. */
export const PROXMOX_TIMEOUT_S = 2.5;
export const FAULTED_VMID = 100;
export const STEADY_VMID = 300;

export interface ConsoleSession {
  id: string;
  cookie: string;
  /** The page's URL, as the redemption's redirect names it. */
  pageUrl: string;
  wsUrl: string;
}

/** What one browser connection to a session's console got. */
export interface ConsoleAttempt {
  /** The websocket upgrade's status (101: the gateway took it). */
  status: number;
  handshake?: HandshakeResult;
  /** The websocket's close code. */
  closeCode?: number;
  /** Whether the gateway ended the console (the page never got it, or lost it). */
  endedByGateway?: boolean;
}

/** How long a console that opened is kept streaming, when asked to, before the page closes it. */
const STREAM_MS = 5000;

export interface FaultFixture {
  sim: Simulator;
  tg: TestGateway;
  /** Guest 300's console, streaming throughout. */
  steady: StreamingConsole;
  /** `/create` params for guest 100 of the simulator (password login). */
  params: Record<string, unknown>;
  create(params?: Record<string, unknown>): Promise<CreateAnswer>;
  /** A link made (status 200), redeemed: the session's cookie and URLs. */
  openSession(params?: Record<string, unknown>): Promise<ConsoleSession>;
  /**
   * One console connection as a page makes it, to its end: the handshake's result and the close
   * code. One that opens is closed at once, or with `stream` kept asking for whole screens for a while.
   */
  tryConsole(session: ConsoleSession, opts?: { stream?: boolean }): Promise<ConsoleAttempt>;
  /** The session's `/status` entry, or undefined once it is gone. */
  status(sessionId: string): Promise<Record<string, unknown> | undefined>;
  /** Waits until the session's `last_error` is `code`. */
  lastError(sessionId: string, code: string | null): Promise<void>;
  endSession(id: string): Promise<void>;
  /** Checks the steady console streamed and takes keys, typing `marker` into it. */
  assertSteady(marker: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startFaultFixture(env: Record<string, string> = {}): Promise<FaultFixture> {
  // Refused logins are answered soon: every one would otherwise wait Proxmox's 3 s.
  const sim = await startSimulator({ host: '127.0.0.2', port: 0, backend: 'builtin', durations: { loginFailureDelayMs: 50 } });
  const tg = await startTestGateway({ PROXMOXVNC_PROXMOX_TIMEOUT: String(PROXMOX_TIMEOUT_S), ...env }, sim.caPem);
  const params = { hostname: sim.host, port: sim.port, node: 'pve1', vmid: FAULTED_VMID, username: 'vncuser@pve', password: 'vncpass' };
  const create = (more: Record<string, unknown> = {}) => createToken(tg, { ...params, ...more });

  const openSession = async (more: Record<string, unknown> = {}): Promise<ConsoleSession> => {
    const created = await create(more);
    assert.equal(created.statusCode, 200, JSON.stringify(created.body));
    const redeemed = await redeem(created.body.url as string);
    assert.equal(redeemed.statusCode, 302, redeemed.body);
    return {
      id: redeemed.location!.split('/')[2]!,
      cookie: redeemed.cookie!,
      pageUrl: new URL(redeemed.location!, tg.origin).href,
      wsUrl: `${tg.origin.replace('http:', 'ws:')}${redeemed.location}websocket`,
    };
  };

  const tryConsole = async (session: ConsoleSession, opts: { stream?: boolean } = {}): Promise<ConsoleAttempt> => {
    const opened = await openConsoleSocket(session.wsUrl, { origin: tg.origin, cookie: session.cookie });
    if (opened.status !== 101) return { status: opened.status };
    const client = opened.client!;
    const closeCode = new Promise<number>((resolve) => opened.ws!.once('close', (code) => resolve(code)));
    const handshake = await client.handshake({}).catch(() => undefined);
    let endedByGateway = true;
    if (handshake?.securityResult === 0) {
      // Whole screens until the gateway ends the console (a dropped upstream) or STREAM_MS pass.
      const until = Date.now() + (opts.stream ? STREAM_MS : 0);
      while (client.isOpen && Date.now() < until) {
        client.requestUpdate(false, 0, 0, client.width, client.height);
        await client.readFramebufferUpdate(STREAM_MS).catch(() => undefined);
      }
      endedByGateway = !client.isOpen;
      // A console that is still open is closed by the page.
      if (client.isOpen) opened.ws!.close();
    }
    return { status: 101, ...(handshake ? { handshake } : {}), closeCode: await closeCode, endedByGateway };
  };

  const status = async (sessionId: string) => {
    const answer = await request(`${tg.origin}/status`, { headers: { authorization: tg.secret } });
    const body = (await answer.body.json()) as { sessions: Record<string, unknown>[] };
    return body.sessions.find((s) => s.session_id === sessionId);
  };

  const steadySession = await openSession({ vmid: STEADY_VMID, node: 'pve2' });
  const opened = await openConsoleSocket(steadySession.wsUrl, { origin: tg.origin, cookie: steadySession.cookie });
  assert.equal(opened.status, 101);
  assert.equal((await opened.client!.handshake({})).securityResult, 0);
  const steady = new StreamingConsole(opened.client!, opened.ws!);

  return {
    sim,
    tg,
    steady,
    params,
    create,
    openSession,
    tryConsole,
    status,
    async lastError(sessionId, code) {
      await poll(async () => (await status(sessionId))?.last_error ?? null, (seen) => seen === code, `last_error ${code} in /status`, 10_000);
    },
    async endSession(id) {
      const ended = await request(`${tg.origin}/sessions/${id}`, { method: 'DELETE', headers: { authorization: tg.secret } });
      await ended.body.dump();
    },
    async assertSteady(marker) {
      await steady.assertStreamed();
      steady.type(marker);
      await poll(async () => sim.received(STEADY_VMID).text, (text) => text.includes(marker), `"${marker}" at guest ${STEADY_VMID}`, 10_000);
    },
    async stop() {
      await steady.stop();
      await tg.stop();
      await sim.stop();
    },
  };
}
