// A gateway process killed (SIGKILL) while it records: what was relayed more than a second before
// the kill is in the file, and the next gateway on the same folder lists the recording (no end,
// its duration up to the last write) and serves it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { startSimulator, type Simulator } from '../../sim/index.js';
import { parseVncRecording, VncRecordType } from '../../src/recordings/vnc-format.js';
import { listeningPort, spawnGateway, type GatewayProcess } from '../helpers/gateway-process.js';
import { openConsoleSocket, redeem, startTestGateway } from '../helpers/gateway.js';
import { keysTyped } from '../helpers/recordings.js';

describe('a recording when the gateway crashes', { timeout: 60_000 }, () => {
  let sim: Simulator;
  let work: string;
  let gateway: GatewayProcess | undefined;

  before(async () => {
    sim = await startSimulator({ host: '127.0.0.2', port: 0, backend: 'builtin' });
    work = await mkdtemp(join(tmpdir(), 'pvnc-rec-crash-'));
  });
  after(async () => {
    gateway?.child.kill('SIGKILL');
    await sim?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('keeps what came more than a second before a SIGKILL, and the next gateway lists and serves it', async () => {
    const dir = join(work, 'recordings');
    const caFile = join(work, 'ca.pem');
    await writeFile(caFile, sim.caPem);
    const secret = randomBytes(32).toString('hex');
    gateway = spawnGateway([], {
      PROXMOXVNC_AUTHORIZATION: secret,
      PROXMOXVNC_ROUTER_IP: '127.0.0.1',
      PROXMOXVNC_ROUTER_PORT: '0',
      PROXMOXVNC_PUBLIC_HOST: '127.0.0.1',
      PROXMOXVNC_PROXMOX_CA_FILE: caFile,
      PROXMOXVNC_RECORDING_DIR: dir,
    });
    const origin = `http://127.0.0.1:${await listeningPort(gateway)}`;
    const created = await request(`${origin}/create`, {
      method: 'POST',
      headers: { authorization: secret, 'content-type': 'application/json' },
      body: JSON.stringify({ hostname: '127.0.0.2', port: sim.port, node: 'pve1', vmid: 100, username: 'vncuser@pve', password: 'vncpass', record: true }),
    });
    assert.equal(created.statusCode, 200);
    const { url } = (await created.body.json()) as { url: string };
    const redeemed = await redeem(url);
    const opened = await openConsoleSocket(`${origin.replace('http:', 'ws:')}${redeemed.location}websocket`, { origin, cookie: redeemed.cookie! });
    const client = opened.client!;
    await client.handshake({});
    await client.readWholeScreen();
    client.typeText('kept');
    client.requestUpdate(true, 0, 0, client.width, client.height);
    await client.readFramebufferUpdate();
    // More than the writer's second, then the crash.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    gateway.child.kill('SIGKILL');
    await gateway.exited;
    await client.closed;

    const files = await readdir(dir);
    const id = files.find((file) => file.endsWith('.pvncrec'))?.slice(0, -'.pvncrec'.length);
    assert.ok(id, files.join(', '));
    const bytes = await readFile(join(dir, `${id}.pvncrec`));
    const parsed = parseVncRecording(bytes);
    const toBrowser = parsed.records.filter((r) => r.type === VncRecordType.ToBrowser).reduce((sum, r) => sum + r.payload.length, 0);
    assert.ok(toBrowser > 800 * 600 * 4, `the first screen is on disk (${toBrowser} bytes)`);
    assert.equal(keysTyped(bytes), 'kept');
    assert.equal((JSON.parse(await readFile(join(dir, `${id}.json`), 'utf8')) as { ended_at?: string }).ended_at, undefined, 'it never ended');

    const next = await startTestGateway({ PROXMOXVNC_RECORDING_DIR: dir }, sim.caPem);
    try {
      const listed = await request(`${next.origin}/recordings`, { headers: { authorization: next.secret } });
      const [entry] = ((await listed.body.json()) as { recordings: { id: string; size: number; duration: number; ended_at?: string }[] }).recordings;
      assert.equal(entry?.id, id);
      assert.equal(entry.size, bytes.length);
      assert.equal(entry.ended_at, undefined);
      assert.ok(entry.duration > 0.5, `duration up to the last write: ${entry.duration}`);
      const served = await request(`${next.origin}/recordings/${id}`, { headers: { authorization: next.secret } });
      assert.ok(Buffer.from(await served.body.arrayBuffer()).equals(bytes));
    } finally {
      await next.stop();
    }
  });
});
