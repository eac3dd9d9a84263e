// The qemu console backend against a real qemu-system-x86_64: password over QMP, SeaBIOS on the
// screen, QMP proof of which process serves, and no QEMU left behind.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createConsoleBackend, type ConsoleBackend, type GuestInfo } from '../../sim/consoles/index.js';
import { requireExecutable } from '../helpers/system.js';
import { RfbTestClient, pixelRgb, type HandshakeResult } from '../helpers/rfb-client.js';

const VM: GuestInfo = { vmid: 101, type: 'qemu', name: 'web01', node: 'pve1' };
const OTHER_VM: GuestInfo = { vmid: 102, type: 'qemu', name: 'db01', node: 'pve1' };
const CT: GuestInfo = { vmid: 201, type: 'lxc', name: 'ct01', node: 'pve1' };

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('qemu backend', { timeout: 60_000 }, () => {
  let workDir: string;
  let backend: ConsoleBackend;
  const clients: RfbTestClient[] = [];

  before(async () => {
    requireExecutable('qemu-system-x86_64', 'qemu-system-x86');
    workDir = await mkdtemp(join(tmpdir(), 'pvnc-qemu-'));
    backend = createConsoleBackend({ kind: 'qemu', passwordExpiryMs: 30_000, workDir });
  });

  after(async () => {
    for (const client of clients) client.close();
    await backend.stop();
    await rm(workDir, { recursive: true, force: true });
  });

  async function connect(guest: GuestInfo, password: string): Promise<{ client: RfbTestClient; result: HandshakeResult }> {
    const client = RfbTestClient.overSocket(await backend.openVnc(guest));
    clients.push(client);
    return { client, result: await client.handshake({ password }) };
  }

  test('password over QMP, ServerInit, and SeaBIOS text on the screen', async () => {
    await backend.setVncPassword(VM, 'Pa55w:rd');
    const { client, result } = await connect(VM, 'Pa55w:rd');
    assert.deepEqual(result.securityTypes, [2]);
    assert.equal(result.securityResult, 0);
    assert.equal(result.serverInit?.name, 'QEMU (web01)');
    client.setPixelFormat32();
    // SeaBIOS needs a moment to print after QEMU starts; a busy machine may first show only the
    // cursor, so the whole screen is read again until the text is there.
    let litPixels = 0;
    for (let attempt = 0; attempt < 40 && litPixels <= 100; attempt++) {
      client.requestUpdate(false, 0, 0, client.width, client.height);
      const { rects } = await client.readFramebufferUpdate(5000);
      litPixels = 0;
      for (const rect of rects.filter((r) => r.encoding === 0)) {
        for (let y = 0; y < rect.h; y++) {
          for (let x = 0; x < rect.w; x++) if (pixelRgb(client.pixelFormat!, rect, x, y).some((v) => v > 0)) litPixels++;
        }
      }
      if (litPixels <= 100) await sleep(250);
    }
    assert.ok(litPixels > 100, `SeaBIOS text visible (${litPixels} lit pixels)`);
  });

  test('QMP confirms the QEMU we started serves the console, and sees our viewer', async () => {
    const info = await backend.qemuProcess(VM.vmid);
    assert.ok(isAlive(info.pid));
    assert.equal(info.name, 'web01');
    assert.equal(info.vncSocket, join(workDir, `${VM.vmid}.vnc`));
    assert.ok(info.vncClients >= 1);
  });

  test('real QEMU refuses a wrong password with the bytes the builtin server copies', async () => {
    const { client, result } = await connect(VM, 'wrong');
    assert.equal(result.securityResult, 1);
    assert.equal(result.reason, 'Authentication failed\0');
    await client.closed;
  });

  test('a new password replaces the old one', async () => {
    await backend.setVncPassword(VM, 'second');
    assert.equal((await connect(VM, 'Pa55w:rd')).result.securityResult, 1);
    assert.equal((await connect(VM, 'second')).result.securityResult, 0);
  });

  test('keys sent to QEMU are read along into received()', async () => {
    const { client, result } = await connect(VM, 'second');
    assert.equal(result.securityResult, 0);
    client.typeText('ok\n');
    client.requestUpdate(false, 0, 0, 8, 8);
    await client.readFramebufferUpdate();
    assert.deepEqual(backend.received(VM.vmid), { keysyms: [0x6f, 0x6b, 0xff0d], text: 'ok\n' });
  });

  test('each VM has its own QEMU; containers use the builtin console', async () => {
    await backend.setVncPassword(OTHER_VM, 'other');
    await backend.setVncPassword(CT, 'ct-pw');
    const other = await connect(OTHER_VM, 'other');
    assert.equal(other.result.serverInit?.name, 'QEMU (db01)');
    assert.notEqual((await backend.qemuProcess(OTHER_VM.vmid)).pid, (await backend.qemuProcess(VM.vmid)).pid);
    const container = await connect(CT, 'ct-pw');
    assert.equal(container.result.serverInit?.name, 'ct01');
    await assert.rejects(backend.qemuProcess(CT.vmid));
  });

  test('a QEMU that dies is replaced on the next console request; other guests are unaffected', async () => {
    const { pid } = await backend.qemuProcess(OTHER_VM.vmid);
    const survivor = await backend.qemuProcess(VM.vmid);
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 50 && (await backend.qemuProcess(OTHER_VM.vmid).then(() => true, () => false)); i++) await sleep(50);
    await backend.setVncPassword(OTHER_VM, 'again');
    const restarted = await backend.qemuProcess(OTHER_VM.vmid);
    assert.notEqual(restarted.pid, pid);
    assert.equal((await connect(OTHER_VM, 'again')).result.securityResult, 0);
    assert.equal((await backend.qemuProcess(VM.vmid)).pid, survivor.pid);
    assert.equal((await connect(VM, 'second')).result.securityResult, 0);
  });

  test('stop() ends every QEMU process and removes their sockets', async () => {
    const pids = [(await backend.qemuProcess(VM.vmid)).pid, (await backend.qemuProcess(OTHER_VM.vmid)).pid];
    await backend.stop();
    for (const pid of pids) assert.equal(isAlive(pid), false, `QEMU ${pid} is gone`);
    assert.deepEqual((await readdir(workDir)).filter((f) => f.endsWith('.vnc')), []);
  });
});

describe('QEMU outlives no simulator', { timeout: 60_000 }, () => {
  // A child node process starts a QEMU console and reports QEMU's pid, then dies in the given way.
  async function qemuPidOfDyingChild(death: 'exit' | 'SIGKILL'): Promise<number> {
    requireExecutable('qemu-system-x86_64', 'qemu-system-x86');
    const workDir = await mkdtemp(join(tmpdir(), 'pvnc-qemu-orphan-'));
    const backendModule = new URL('../../sim/consoles/index.js', import.meta.url).href;
    const script = `
      const { createConsoleBackend } = await import(${JSON.stringify(backendModule)});
      const backend = createConsoleBackend({ kind: 'qemu', passwordExpiryMs: 30000, workDir: ${JSON.stringify(workDir)} });
      await backend.setVncPassword({ vmid: 100, type: 'qemu', name: 'orphan', node: 'pve1' }, 'pw');
      const { pid } = await backend.qemuProcess(100);
      process.stdout.write(pid + '\\n');
      if (${JSON.stringify(death)} === 'exit') process.exit(0);
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, [...process.execArgv, '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [line] = (await once(child.stdout, 'data')) as [Buffer];
    const pid = Number(line.toString().trim());
    assert.ok(pid > 0 && isAlive(pid), `QEMU ${pid} runs`);
    if (death === 'SIGKILL') child.kill('SIGKILL');
    await once(child, 'exit');
    await rm(workDir, { recursive: true, force: true });
    return pid;
  }

  async function gone(pid: number): Promise<boolean> {
    for (let i = 0; i < 50 && isAlive(pid); i++) await sleep(100);
    return !isAlive(pid);
  }

  test('when the node process exits', async () => {
    const pid = await qemuPidOfDyingChild('exit');
    assert.ok(await gone(pid), `QEMU ${pid} was killed`);
  });

  test('when the node process is killed outright', async () => {
    const pid = await qemuPidOfDyingChild('SIGKILL');
    assert.ok(await gone(pid), `QEMU ${pid} was killed`);
  });
});
