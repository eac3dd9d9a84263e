import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { request, type Dispatcher } from 'undici';
import WebSocket from 'ws';
import { createGateway, type Gateway } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';
import { RfbTestClient } from './rfb-client.js';

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Whether `port` can be listened on now. */
function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** A range of `count` consecutive ports free now (for session_ports). */
export async function freePortRange(count: number): Promise<{ from: number; to: number }> {
  for (;;) {
    const from = await freePort();
    const rest = await Promise.all(Array.from({ length: count - 1 }, (_, i) => isPortFree(from + i + 1)));
    if (rest.every(Boolean)) return { from, to: from + count - 1 };
  }
}

/** The HTTP status of a GET, or the connection error's code (e.g. ECONNREFUSED) when none came. */
export function statusOrErrorCode(url: string, headers: Record<string, string> = {}): Promise<number | string> {
  return request(url, { headers }).then(
    async (answer) => {
      await answer.body.dump();
      return answer.statusCode;
    },
    (err: unknown) => (err as { code?: string }).code ?? String(err),
  );
}

/**
 * Opens a console websocket as the page does. The RFB client listens before 'open' (the gateway
 * speaks first); a refused upgrade gives its HTTP status, a failed connection status 0.
 */
export function openConsoleSocket(url: string, headers: Record<string, string>): Promise<{ status: number; client?: RfbTestClient; ws?: WebSocket }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    const client = RfbTestClient.overWebSocket(ws);
    ws.once('open', () => resolve({ status: 101, client, ws }));
    ws.once('unexpected-response', (_request, response) => {
      resolve({ status: response.statusCode ?? 0 });
      response.resume();
    });
    ws.once('error', () => resolve({ status: 0 }));
  });
}

export interface TestGateway {
  gateway: Gateway;
  origin: string;
  secret: string;
  /** Every log line the gateway wrote, at debug level: tests scan them for secrets. */
  logs: string[];
  /** For a gateway serving HTTPS with a test certificate: an agent that trusts it. */
  dispatcher?: Dispatcher;
  stop(): Promise<void>;
}

/** A gateway on 127.0.0.1 with a fresh secret; `env` holds PROXMOXVNC_* overrides. */
export async function startTestGateway(env: Record<string, string> = {}, caPem?: string): Promise<TestGateway> {
  const secret = randomBytes(32).toString('hex');
  const workDir = await mkdtemp(join(tmpdir(), 'pvnc-test-'));
  const caEnv: Record<string, string> = {};
  if (caPem) {
    const caFile = join(workDir, 'ca.pem');
    await writeFile(caFile, caPem);
    caEnv.PROXMOXVNC_PROXMOX_CA_FILE = caFile;
  }
  const loaded = loadConfig({
    env: {
      PROXMOXVNC_AUTHORIZATION: secret,
      PROXMOXVNC_ROUTER_IP: '127.0.0.1',
      // The port the gateway is given by listening: none another test could take in between.
      PROXMOXVNC_ROUTER_PORT: '0',
      PROXMOXVNC_PUBLIC_HOST: '127.0.0.1',
      PROXMOXVNC_PROXMOX_TIMEOUT: '5',
      // Every test client is 127.0.0.1: only the throttle's own tests keep the real limits.
      PROXMOXVNC_RATE_LIMIT_AUTH_FAILURES: '1000000',
      PROXMOXVNC_RATE_LIMIT_REDEMPTIONS: '1000000',
      ...caEnv,
      ...env,
    },
    flags: {},
  });
  if ('problems' in loaded) throw new Error(`test config: ${loaded.problems.join('; ')}`);
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const log = createLogger({ enabled: true, level: 'debug', format: loaded.config.log_format }, sink);
  const gateway = await createGateway(loaded.config, log);
  await gateway.listen();
  return {
    gateway,
    origin: gateway.publicOrigin,
    secret,
    logs,
    async stop() {
      await gateway.close();
      await rm(workDir, { recursive: true, force: true });
    },
  };
}

export interface CreateAnswer {
  statusCode: number;
  body: Record<string, unknown>;
}

/** POST /create with a JSON body (the other two body forms have their own tests). */
export async function createToken(tg: TestGateway, params: Record<string, unknown>): Promise<CreateAnswer> {
  const answer = await request(`${tg.origin}/create`, {
    method: 'POST',
    dispatcher: tg.dispatcher,
    headers: { authorization: tg.secret, 'content-type': 'application/json' },
    body: JSON.stringify(params),
  });
  return { statusCode: answer.statusCode, body: (await answer.body.json()) as Record<string, unknown> };
}

/** Opens a console link as a browser would, without following the redirect. */
export async function redeem(link: string): Promise<{ statusCode: number; location?: string; cookie?: string; setCookie?: string; body: string }> {
  const answer = await request(link, { method: 'GET' });
  const setCookie = answer.headers['set-cookie'];
  const first = Array.isArray(setCookie) ? setCookie[0] : setCookie;
  return {
    statusCode: answer.statusCode,
    location: answer.headers.location as string | undefined,
    setCookie: first,
    cookie: first?.split(';')[0],
    body: await answer.body.text(),
  };
}
