// The ways to a guest console: straight to the simulator's vncwebsocket with a ticket of our own
// (the baseline), the same through a plain TCP pipe that does the TLS (the floors), through the
// gateway as a browser would, and through websockify to the same console server (the reference a
// general-purpose relay sets).
import { Agent, request } from 'undici';
import WebSocket from 'ws';
import type { GatewayChildInfo } from './gateway-child.js';
import type { ConsoleSocket } from './rfb-connection.js';
import type { SimChildInfo } from './sim-child.js';

const GUEST = { node: 'pve1', vmid: 100, username: 'vncuser@pve', password: 'vncpass' } as const;

/** Proxmox gives each node the ports 5900-5999 for consoles: many sessions need many nodes. */
export function extraNodeGuest(index: number): { node: string; vmid: number } {
  return { node: `pve${index + 3}`, vmid: 1000 + index };
}

export interface ConsoleOpener {
  open(): Promise<ConsoleSocket>;
  close(): Promise<void>;
}

/**
 * Resolves once the upgrade succeeded, with the socket paused: the server speaks first, possibly in
 * the same read as the 101, and a message emitted before the caller listens would be lost.
 * No compression, as with pveproxy.
 */
function openWebSocket(url: string, protocols: string[], options: WebSocket.ClientOptions): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { ...options, perMessageDeflate: false, handshakeTimeout: 10_000 });
    ws.once('open', () => {
      ws.pause();
      resolve(ws);
    });
    ws.once('unexpected-response', (_req, res) => {
      ws.terminate();
      reject(new Error(`${url.split('?')[0]} answered ${res.statusCode} instead of upgrading`));
    });
    // Stays: an error after opening must not crash the bench; the connection reports the close.
    ws.on('error', reject);
  });
}

async function expectOk(what: string, answer: Awaited<ReturnType<typeof request>>): Promise<unknown> {
  const body = await answer.body.text();
  if (answer.statusCode !== 200) throw new Error(`${what}: HTTP ${answer.statusCode} ${body}`);
  return JSON.parse(body) as unknown;
}

/**
 * The simulator's own vncwebsocket, with a ticket of our own. `through`: the ws origin of a pipe
 * that forwards plain TCP to the simulator's TLS port; the API calls still go straight to it, only
 * the console websocket goes through the pipe, its upgrade spoken by this client.
 */
export async function directOpener(sim: SimChildInfo, through?: string): Promise<ConsoleOpener> {
  const origin = `https://${sim.host}:${sim.port}`;
  const api = `${origin}/api2/json/nodes/${GUEST.node}/qemu/${GUEST.vmid}`;
  const dispatcher = new Agent({ connect: { ca: sim.caPem } });
  const login = (await expectOk(
    'login',
    await request(`${origin}/api2/json/access/ticket`, {
      method: 'POST',
      dispatcher,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: GUEST.username, password: GUEST.password }).toString(),
    }),
  )) as { data: { ticket: string; CSRFPreventionToken: string } };
  const cookie = `PVEAuthCookie=${encodeURIComponent(login.data.ticket)}`;
  return {
    async open() {
      const proxy = (await expectOk(
        'vncproxy',
        await request(`${api}/vncproxy`, {
          method: 'POST',
          dispatcher,
          headers: { 'content-type': 'application/x-www-form-urlencoded', cookie, csrfpreventiontoken: login.data.CSRFPreventionToken },
          body: 'websocket=1&generate-password=1',
        }),
      )) as { data: { port: number | string; ticket: string; password?: string } };
      const { port, ticket, password } = proxy.data;
      const wsApi = through === undefined ? api.replace(/^https:/, 'wss:') : `${through}${api.slice(origin.length)}`;
      const url = `${wsApi}/vncwebsocket?port=${port}&vncticket=${encodeURIComponent(ticket)}`;
      const ws = await openWebSocket(url, ['binary'], { ...(through === undefined ? { ca: sim.caPem } : {}), headers: { cookie } });
      return { ws, password: password ?? ticket };
    },
    close: () => dispatcher.close(),
  };
}

/** Each open() is a new console link for `guest` (default: the benchmark's VM 100 on pve1). */
export function gatewayOpener(gateway: GatewayChildInfo, sim: SimChildInfo, guest: { node: string; vmid: number; record?: boolean } = GUEST): ConsoleOpener {
  const dispatcher = new Agent();
  const params = { hostname: sim.host, port: sim.port, ...GUEST, ...guest };
  return {
    async open() {
      const created = (await expectOk(
        'create',
        await request(`${gateway.origin}/create`, {
          method: 'POST',
          dispatcher,
          headers: { authorization: gateway.secret, 'content-type': 'application/json' },
          body: JSON.stringify(params),
        }),
      )) as { url: string };
      const redeemed = await request(created.url, { dispatcher });
      await redeemed.body.dump();
      const location = redeemed.headers.location;
      const setCookie = redeemed.headers['set-cookie'];
      const cookie = (Array.isArray(setCookie) ? setCookie[0] : setCookie)?.split(';')[0];
      if (redeemed.statusCode !== 302 || typeof location !== 'string' || !cookie) throw new Error(`redeeming the console link: HTTP ${redeemed.statusCode}`);
      const ws = await openWebSocket(`${gateway.origin.replace(/^http/, 'ws')}${location}websocket`, [], { headers: { origin: gateway.origin, cookie } });
      return { ws };
    },
    close: () => dispatcher.close(),
  };
}

/** websockify in front of the simulator's standalone console server: plain ws, VNC authentication by the client. */
export function websockifyOpener(url: string, password: string): ConsoleOpener {
  return {
    async open() {
      return { ws: await openWebSocket(url, ['binary'], {}), password };
    },
    close: async () => {},
  };
}
