// A gateway started in-process in front of the simulator, for the fuzz files that aim at it: one
// console of its own streams throughout, so a case that blocks the event loop or breaks another
// session shows as a gap in its frames.
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startSimulator, type Simulator } from '../../sim/index.js';
import { createToken, openConsoleSocket, redeem, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { StreamingConsole } from '../helpers/streaming-console.js';
import { watchUnhandledRejections } from './support.js';

/** The secret-shaped values the fixture itself knows: the simulator's user and API token. */
export const SIM_PASSWORD = 'vncpass';
export const SIM_TOKEN_SECRET = '11111111-2222-3333-4444-555555555555';

export interface ConsoleSession {
  id: string;
  cookie: string;
  /** ws:// URL of the session's console websocket. */
  wsUrl: string;
}

export interface FuzzGateway {
  sim: Simulator;
  tg: TestGateway;
  /** `/create` params the simulator accepts, for a VM console. */
  params: Record<string, string>;
  streaming: StreamingConsole;
  /** The streaming console's session. */
  own: ConsoleSession;
  /** A new session on VM 100 (made with validate false), redeemed: its cookie and websocket URL. */
  openSession(): Promise<ConsoleSession>;
  endSession(id: string): Promise<void>;
  /**
   * Checks the log lines written since the last call for every secret known here (and `more`),
   * then lets them go: the test's log sink would otherwise grow with every case.
   */
  checkLogs(more?: readonly string[]): void;
  /** The properties of a whole run: the other console streamed, no unhandled rejection, still serving. */
  assertHealthy(): Promise<void>;
  stop(): Promise<void>;
}

export async function startFuzzGateway(env: Record<string, string> = {}): Promise<FuzzGateway> {
  const rejections = watchUnhandledRejections();
  // Wrong passwords are answered at once: the fuzzing sends many, and each would otherwise wait 3 s.
  const sim = await startSimulator({ host: '127.0.0.2', port: 0, backend: 'builtin', durations: { loginFailureDelayMs: 0 } });
  const tg = await startTestGateway(env, sim.caPem);
  const params = { hostname: '127.0.0.2', port: String(sim.port), node: 'pve1', username: 'vncuser@pve', password: SIM_PASSWORD, vmid: '100' };

  const openSession = async (): Promise<ConsoleSession> => {
    const created = await createToken(tg, { ...params, validate: 'false' });
    assert.equal(created.statusCode, 200, JSON.stringify(created.body));
    const redeemed = await redeem(created.body.url as string);
    assert.equal(redeemed.statusCode, 302, redeemed.body);
    return {
      id: redeemed.location!.split('/')[2]!,
      cookie: redeemed.cookie!,
      wsUrl: `${tg.origin.replace('http:', 'ws:')}${redeemed.location}websocket`,
    };
  };
  const endSession = async (id: string) => {
    const ended = await request(`${tg.origin}/sessions/${id}`, { method: 'DELETE', headers: { authorization: tg.secret } });
    await ended.body.dump();
  };

  const own = await openSession();
  const opened = await openConsoleSocket(own.wsUrl, { origin: tg.origin, cookie: own.cookie });
  assert.equal(opened.status, 101);
  assert.equal((await opened.client!.handshake({})).securityResult, 0);
  const streaming = new StreamingConsole(opened.client!, opened.ws!);

  const checkLogs = (more: readonly string[] = []) => {
    const needles = [tg.secret, SIM_PASSWORD, SIM_TOKEN_SECRET, own.cookie.split('=')[1]!, ...sim.issuedSecrets(), ...more].filter((n) => n.length >= 6);
    for (const line of tg.logs) {
      for (const needle of needles) assert.ok(!line.includes(needle), `a secret (${needle.slice(0, 3)}…) in the log: ${line.slice(0, 600)}`);
    }
    tg.logs.length = 0;
  };

  return {
    sim,
    tg,
    params,
    streaming,
    own,
    openSession,
    endSession,
    checkLogs,
    async assertHealthy() {
      await streaming.assertStreamed();
      const health = await request(`${tg.origin}/healthz`);
      assert.equal(health.statusCode, 200);
      await health.body.dump();
      rejections.assertNone();
    },
    async stop() {
      rejections.stop();
      await streaming.stop();
      await tg.stop();
      await sim.stop();
    },
  };
}
