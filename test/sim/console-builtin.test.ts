// The builtin console backend: VNC auth as QEMU does it, a framebuffer that shows typed keys,
// and isolation between clients and guests.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createConsoleBackend, type ConsoleBackend, type ConsoleBackendOptions, type GuestInfo } from '../../sim/consoles/index.js';
import { RfbTestClient, pixelRgb, type Rect } from '../helpers/rfb-client.js';

const WIDTH = 800;
const HEIGHT = 600;
const BACKGROUND: [number, number, number] = [0x10, 0x18, 0x20];
let nextVmid = 100;
const newGuest = (type: 'qemu' | 'lxc' = 'qemu'): GuestInfo => ({ vmid: nextVmid++, type, name: `guest-${nextVmid}`, node: 'pve1' });

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function startBackend(extra: Partial<ConsoleBackendOptions> = {}): Promise<ConsoleBackend> {
  const workDir = await mkdtemp(join(tmpdir(), 'pvnc-console-'));
  const backend = createConsoleBackend({ kind: 'builtin', passwordExpiryMs: 30_000, workDir, ...extra });
  cleanups.push(async () => {
    await backend.stop();
    await rm(workDir, { recursive: true, force: true });
  });
  return backend;
}

async function connect(backend: ConsoleBackend, guest: GuestInfo, password: string, shared = true) {
  const client = RfbTestClient.overSocket(await backend.openVnc(guest));
  cleanups.push(async () => client.close());
  const result = await client.handshake({ password, shared });
  return { client, result };
}

async function connected(backend: ConsoleBackend, guest: GuestInfo, password: string, shared = true): Promise<RfbTestClient> {
  const { client, result } = await connect(backend, guest, password, shared);
  assert.equal(result.securityResult, 0, result.reason);
  return client;
}

async function fullScreen(client: RfbTestClient): Promise<Rect> {
  client.requestUpdate(false, 0, 0, WIDTH, HEIGHT);
  const { rects } = await client.readFramebufferUpdate();
  const rect = rects.find((r) => r.encoding === 0);
  assert.ok(rect);
  assert.deepEqual([rect.x, rect.y, rect.w, rect.h], [0, 0, WIDTH, HEIGHT]);
  return rect;
}

function countNonBackground(client: RfbTestClient, rect: Rect): number {
  let count = 0;
  for (let y = 0; y < rect.h; y++) {
    for (let x = 0; x < rect.w; x++) {
      if (pixelRgb(client.pixelFormat!, rect, x, y).some((v, i) => Math.abs(v - BACKGROUND[i]!) > 8)) count++;
    }
  }
  return count;
}

describe('authentication', { timeout: 20_000 }, () => {
  let backend: ConsoleBackend;
  before(async () => {
    backend = await startBackend();
  });

  test('the right password gets ServerInit with the guest name and QEMU\'s pixel format', async () => {
    const guest = newGuest();
    await backend.setVncPassword(guest, 'Pa55w:rd');
    const { result } = await connect(backend, guest, 'Pa55w:rd');
    assert.deepEqual(result.securityTypes, [2]);
    assert.equal(result.securityResult, 0);
    assert.equal(result.serverInit?.name, guest.name);
    assert.equal(result.serverInit?.width, WIDTH);
    assert.equal(result.serverInit?.height, HEIGHT);
    assert.deepEqual(result.serverInit?.pixelFormat, Buffer.from('2018000100ff00ff00ff100800000000', 'hex'));
  });

  test('a wrong password fails with QEMU\'s reason', async () => {
    const guest = newGuest();
    await backend.setVncPassword(guest, 'right');
    const { client, result } = await connect(backend, guest, 'wrong');
    assert.equal(result.securityResult, 1);
    assert.equal(result.reason, 'Authentication failed\0');
    await client.closed;
  });

  test('without any password set, authentication fails', async () => {
    const guest = newGuest();
    const { result } = await connect(backend, guest, '');
    assert.equal(result.securityResult, 1);
  });

  test('a second password replaces the first', async () => {
    const guest = newGuest();
    await backend.setVncPassword(guest, 'first');
    await backend.setVncPassword(guest, 'second');
    assert.equal((await connect(backend, guest, 'first')).result.securityResult, 1);
    assert.equal((await connect(backend, guest, 'second')).result.securityResult, 0);
  });

  test('the password expires, while a viewer already in stays', async () => {
    const shortLived = await startBackend({ passwordExpiryMs: 300 });
    const guest = newGuest();
    await shortLived.setVncPassword(guest, 'brief');
    const early = await connected(shortLived, guest, 'brief');
    await sleep(400);
    assert.equal((await connect(shortLived, guest, 'brief')).result.securityResult, 1);
    await fullScreen(early);
  });
});

describe('screen and keyboard', { timeout: 20_000 }, () => {
  let backend: ConsoleBackend;
  before(async () => {
    backend = await startBackend({ echoClipboard: true });
  });

  test('typed keys are recorded and drawn; a held incremental request is answered when they arrive', async () => {
    const guest = newGuest();
    await backend.setVncPassword(guest, 'pw');
    const client = await connected(backend, guest, 'pw');
    const before = await fullScreen(client);
    const drawnBefore = countNonBackground(client, before);
    assert.ok(drawnBefore > 500, 'the guest name is drawn');

    client.requestUpdate(true, 0, 0, WIDTH, HEIGHT);
    await assert.rejects(client.readFramebufferUpdate(200), /timed out/, 'nothing changed, so the request is held');
    client.typeText('Hello, world!\nxy');
    client.keyEvent(true, 0xff08);
    client.keyEvent(false, 0xff08);
    const { rects } = await client.readFramebufferUpdate();
    assert.ok(rects.length > 0 && rects[0]!.y > 0, 'only the text area is sent');

    await sleep(50);
    assert.deepEqual(backend.received(guest.vmid), {
      keysyms: [...'Hello, world!'].map((c) => c.charCodeAt(0)).concat([0xff0d, 0x78, 0x79, 0xff08]),
      text: 'Hello, world!\nx',
    });
    const afterTyping = await fullScreen(client);
    assert.ok(countNonBackground(client, afterTyping) > drawnBefore + 500, 'typed text is on the screen');
  });

  test('QEMU extended key events are recorded, and announced when the client asks', async () => {
    const guest = newGuest();
    await backend.setVncPassword(guest, 'pw');
    const client = await connected(backend, guest, 'pw');
    client.setEncodings([0, -258]);
    const { rects } = await client.readFramebufferUpdate();
    assert.equal(rects[0]?.encoding, -258);
    const event = Buffer.alloc(12);
    event[0] = 255;
    event.writeUInt16BE(1, 2);
    event.writeUInt32BE(0x71, 4);
    event.writeUInt32BE(0x10, 8);
    client.write(event);
    await fullScreen(client);
    assert.equal(backend.received(guest.vmid).text, 'q');
  });

  test('other pixel formats: noVNC\'s 32 bpp shifts and 16 bpp', async () => {
    const guest = newGuest();
    await backend.setVncPassword(guest, 'pw');
    const client = await connected(backend, guest, 'pw');
    client.setPixelFormat32({ red: 0, green: 8, blue: 16 });
    const rect = await fullScreen(client);
    assert.deepEqual(pixelRgb(client.pixelFormat!, rect, 0, 0), BACKGROUND);
    assert.equal(rect.data.readUInt32LE(0), 0x201810);
    client.setPixelFormat({ bitsPerPixel: 16, depth: 16, bigEndian: false, trueColour: true, redMax: 31, greenMax: 63, blueMax: 31, redShift: 11, greenShift: 5, blueShift: 0 });
    const rect16 = await fullScreen(client);
    assert.equal(rect16.data.length, WIDTH * HEIGHT * 2);
    const [r, g, b] = pixelRgb(client.pixelFormat!, rect16, 0, 0);
    assert.ok(Math.abs(r - BACKGROUND[0]) < 9 && Math.abs(g - BACKGROUND[1]) < 5 && Math.abs(b - BACKGROUND[2]) < 9);
    assert.ok(countNonBackground(client, rect16) > 500);
  });

  test('ClientCutText is echoed as ServerCutText when echoClipboard is on', async () => {
    const guest = newGuest();
    await backend.setVncPassword(guest, 'pw');
    const client = await connected(backend, guest, 'pw');
    client.clientCutText('copied text');
    assert.equal(await client.readServerCutText(), 'copied text');
  });

  test('a client fence request is answered', async () => {
    const guest = newGuest();
    await backend.setVncPassword(guest, 'pw');
    const client = await connected(backend, guest, 'pw');
    client.write(Buffer.from([248, 0, 0, 0, 0x80, 0, 0, 1, 2, 0xab, 0xcd]));
    assert.deepEqual(await client.readBytes(11), Buffer.from([248, 0, 0, 0, 0, 0, 0, 1, 2, 0xab, 0xcd]));
  });
});

describe('viewers and isolation', { timeout: 20_000 }, () => {
  let backend: ConsoleBackend;
  before(async () => {
    backend = await startBackend();
  });

  test('a viewer asking for exclusive access disconnects the others; shared ones are then refused', async () => {
    const guest = newGuest();
    await backend.setVncPassword(guest, 'pw');
    const first = await connected(backend, guest, 'pw');
    const second = await connected(backend, guest, 'pw');
    const exclusive = await connected(backend, guest, 'pw', false);
    await first.closed;
    await second.closed;
    await assert.rejects(connect(backend, guest, 'pw'), /stream closed after 0 of 24 bytes/, 'no ServerInit for a shared latecomer');
    await fullScreen(exclusive);
  });

  test('a malformed message drops only that client; other viewers and guests carry on', async () => {
    const guest = newGuest();
    const other = newGuest('lxc');
    await backend.setVncPassword(guest, 'pw');
    await backend.setVncPassword(other, 'pw');
    const bystander = await connected(backend, guest, 'pw');
    const otherGuestViewer = await connected(backend, other, 'pw');
    for (const garbage of [Buffer.from([99, 1, 2, 3]), Buffer.from([0, 0, 0, 0, 24, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]), Buffer.from([255, 7])]) {
      const bad = await connected(backend, guest, 'pw');
      bad.write(garbage);
      await bad.closed;
    }
    const cutTooLong = await connected(backend, guest, 'pw');
    cutTooLong.write(Buffer.from([6, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff]));
    await cutTooLong.closed;

    bystander.typeText('still here');
    otherGuestViewer.typeText('me too');
    await fullScreen(bystander);
    await fullScreen(otherGuestViewer);
    assert.equal(backend.received(guest.vmid).text, 'still here');
    assert.equal(backend.received(other.vmid).text, 'me too');
    assert.equal((await connect(backend, guest, 'pw')).result.securityResult, 0);
  });

  test('garbage before and during the handshake does not hurt the server', async () => {
    const guest = newGuest();
    await backend.setVncPassword(guest, 'pw');
    const rude = RfbTestClient.overSocket(await backend.openVnc(guest));
    rude.write(Buffer.alloc(5000, 0xff));
    await rude.closed;
    const quitter = RfbTestClient.overSocket(await backend.openVnc(guest));
    await quitter.readBytes(12);
    quitter.write(Buffer.from('RFB 003.0'));
    quitter.close();
    assert.equal((await connect(backend, guest, 'pw')).result.securityResult, 0);
  });

  test('stopGuest disconnects its viewers; the key log stays readable', async () => {
    const guest = newGuest();
    await backend.setVncPassword(guest, 'pw');
    const viewer = await connected(backend, guest, 'pw');
    viewer.typeText('bye');
    await fullScreen(viewer);
    await backend.stopGuest(guest.vmid);
    await viewer.closed;
    assert.equal(backend.received(guest.vmid).text, 'bye');
    assert.deepEqual(backend.received(99999), { keysyms: [], text: '' });
    await assert.rejects(backend.qemuProcess(guest.vmid));
  });
});

test('bulk mode answers every request at once with a changing full screen', { timeout: 20_000 }, async () => {
  const backend = await startBackend({ bulk: true });
  const guest = newGuest();
  await backend.setVncPassword(guest, 'pw');
  const client = await connected(backend, guest, 'pw');
  const frames: Buffer[] = [];
  for (let i = 0; i < 3; i++) {
    client.requestUpdate(true, 0, 0, WIDTH, HEIGHT);
    const { rects } = await client.readFramebufferUpdate(2000);
    assert.deepEqual(rects.map((r) => [r.x, r.y, r.w, r.h, r.encoding]), [[0, 0, WIDTH, HEIGHT, 0]]);
    frames.push(rects[0]!.data);
  }
  assert.notDeepEqual(frames[0], frames[1]);
  assert.notDeepEqual(frames[1], frames[2]);
});
