// Proxmox cuts a console after a quiet spell (15 minutes; 600 ms here) and websocket pings do not
// count: the bridge must send RFB traffic of its own, so an idle but open console survives.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { startSimulator, type Simulator } from '../../sim/index.js';
import { MessageBudget } from '../../src/console/message-budget.js';
import { runVncBridge } from '../../src/console/vnc-bridge.js';
import { silentLogger } from '../../src/log.js';
import { ProxmoxClient, type ProxmoxCredentials } from '../../src/proxmox/client.js';
import { RfbTestClient } from '../helpers/rfb-client.js';

const TOKEN: ProxmoxCredentials = { kind: 'apiToken', tokenId: 'vncuser@pve!console', secret: '11111111-2222-3333-4444-555555555555' };
const RELAY_IDLE_MS = 600;

describe('VNC bridge keep-alive', () => {
  let sim: Simulator;
  let client: ProxmoxClient;
  let wss: WebSocketServer;
  let url: string;
  let keepAliveMs = 0;

  before(async () => {
    sim = await startSimulator({ host: '127.0.0.2', port: 0, durations: { relayIdleMs: RELAY_IDLE_MS } });
    client = new ProxmoxClient({ hostname: sim.host, port: sim.port, fingerprint: sim.fingerprint }, { timeoutMs: 5_000 });
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
    await once(wss, 'listening');
    url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`;
    wss.on('connection', (ws) => {
      void runVncBridge(ws, {
        openUpstream: async () => {
          const proxy = await client.vncproxy(TOKEN, 'pve1', 'qemu', 100);
          const upstream = await client.openVncWebsocket(TOKEN, 'pve1', 'qemu', 100, proxy.port, proxy.ticket, { handshakeTimeoutMs: 5_000 });
          return { ws: upstream, vncPassword: proxy.vncPassword };
        },
        title: () => 'web01',
        handshakeTimeoutMs: 5_000,
        viewOnly: false,
        clipboardMaxBytes: 65536,
        budget: new MessageBudget(1000),
        log: silentLogger,
        keepAliveMs,
      });
    });
  });
  after(async () => {
    for (const ws of wss.clients) ws.terminate();
    await new Promise((resolve) => wss.close(resolve));
    await client.close();
    await sim.stop();
  });

  /** Opens a console, stays quiet for three idle periods, and says whether it is still usable. */
  async function survivesQuiet(): Promise<boolean> {
    const ws = new WebSocket(url);
    ws.on('error', () => {});
    const rfb = RfbTestClient.overWebSocket(ws);
    await once(ws, 'open');
    assert.equal((await rfb.handshake()).securityResult, 0);
    await new Promise((resolve) => setTimeout(resolve, 3 * RELAY_IDLE_MS));
    const open = rfb.isOpen;
    ws.close();
    return open;
  }

  test('without keep-alive traffic Proxmox cuts a quiet console (the premise)', async () => {
    keepAliveMs = 60_000;
    assert.equal(await survivesQuiet(), false);
  });

  test('with it, a quiet console stays open', async () => {
    keepAliveMs = RELAY_IDLE_MS / 3;
    assert.equal(await survivesQuiet(), true);
  });
});
