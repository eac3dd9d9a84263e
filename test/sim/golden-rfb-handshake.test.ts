// The exact bytes the builtin console server sends during the RFB handshake, as QEMU sends them.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createConsoleBackend, type ConsoleBackend, type GuestInfo } from '../../sim/consoles/index.js';
import { RfbTestClient, vncDesResponse } from '../helpers/rfb-client.js';

const VM: GuestInfo = { vmid: 100, type: 'qemu', name: 'web01', node: 'pve1' };
const CT: GuestInfo = { vmid: 200, type: 'lxc', name: 'ct01', node: 'pve1' };
const PASSWORD = 'Pa55w:rd';

const hex = (s: string) => Buffer.from(s.replace(/\s/g, ''), 'hex');
const QEMU_FAILURE = Buffer.concat([hex('00000001 00000016'), Buffer.from('Authentication failed\0', 'latin1')]);
const VNCTERM_FAILURE = Buffer.concat([hex('00000001 00000016'), Buffer.from('password check failed!', 'latin1')]);

let workDir: string;
let backend: ConsoleBackend;

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'pvnc-golden-'));
  backend = createConsoleBackend({ kind: 'builtin', passwordExpiryMs: 30_000, workDir });
  await backend.setVncPassword(VM, PASSWORD);
  await backend.setVncPassword(CT, PASSWORD);
});

after(async () => {
  await backend.stop();
  await rm(workDir, { recursive: true, force: true });
});

async function open(guest: GuestInfo): Promise<RfbTestClient> {
  return RfbTestClient.overSocket(await backend.openVnc(guest));
}

/** Connects and answers up to the VNC authentication challenge; 3.7 and 3.8 list the one type 2. */
async function openAtChallenge(guest: GuestInfo, version = 'RFB 003.008\n'): Promise<{ client: RfbTestClient; challenge: Buffer }> {
  const client = await open(guest);
  await client.readBytes(12);
  client.write(Buffer.from(version));
  assert.deepEqual(await client.readBytes(2), hex('01 02'));
  client.write(hex('02'));
  return { client, challenge: await client.readBytes(16) };
}

/** Asserts the server sends nothing more and hangs up. */
async function assertClosedAfter(client: RfbTestClient): Promise<void> {
  await client.closed;
  await assert.rejects(client.readBytes(1, 100), /closed after 0 of 1 bytes/);
}

test('RFB 3.8: version, one security type 2, 16-byte challenge, SecurityResult 0', { timeout: 10_000 }, async () => {
  const client = await open(VM);
  assert.deepEqual(await client.readBytes(12), Buffer.from('RFB 003.008\n'));
  client.write(Buffer.from('RFB 003.008\n'));
  assert.deepEqual(await client.readBytes(2), hex('01 02'));
  client.write(hex('02'));
  const challenge = await client.readBytes(16);
  client.write(vncDesResponse(challenge, PASSWORD));
  assert.deepEqual(await client.readBytes(4), hex('00000000'));
  client.close();
});

test('RFB 3.8 wrong password: SecurityResult 1 with QEMU\'s 22-byte reason, then hang-up', { timeout: 10_000 }, async () => {
  const { client, challenge } = await openAtChallenge(VM);
  client.write(vncDesResponse(challenge, 'wrong'));
  assert.deepEqual(await client.readBytes(QEMU_FAILURE.length), QEMU_FAILURE);
  await assertClosedAfter(client);
});

test('containers fail as vncterm does: "password check failed!" without NUL', { timeout: 10_000 }, async () => {
  const { client, challenge } = await openAtChallenge(CT);
  client.write(vncDesResponse(challenge, 'wrong'));
  assert.deepEqual(await client.readBytes(VNCTERM_FAILURE.length), VNCTERM_FAILURE);
  await assertClosedAfter(client);
});

test('a security type other than 2 is refused like a wrong password', { timeout: 10_000 }, async () => {
  const client = await open(VM);
  await client.readBytes(12);
  client.write(Buffer.from('RFB 003.008\n'));
  await client.readBytes(2);
  client.write(hex('01'));
  assert.deepEqual(await client.readBytes(QEMU_FAILURE.length), QEMU_FAILURE);
  await assertClosedAfter(client);
});

test('RFB 3.3: the server names type 2 as a U32 and a failure has no reason', { timeout: 10_000 }, async () => {
  const client = await open(VM);
  await client.readBytes(12);
  client.write(Buffer.from('RFB 003.003\n'));
  assert.deepEqual(await client.readBytes(4), hex('00000002'));
  const challenge = await client.readBytes(16);
  client.write(vncDesResponse(challenge, 'wrong'));
  assert.deepEqual(await client.readBytes(4), hex('00000001'));
  await assertClosedAfter(client);
});

test('RFB 3.7: the same list of types as 3.8, and a failure without reason', { timeout: 10_000 }, async () => {
  const { client, challenge } = await openAtChallenge(VM, 'RFB 003.007\n');
  client.write(vncDesResponse(challenge, 'wrong'));
  assert.deepEqual(await client.readBytes(4), hex('00000001'));
  await assertClosedAfter(client);
});

test('an unsupported version gets security type 0 (invalid) and a hang-up', { timeout: 10_000 }, async () => {
  const client = await open(VM);
  await client.readBytes(12);
  client.write(Buffer.from('RFB 004.000\n'));
  assert.deepEqual(await client.readBytes(4), hex('00000000'));
  await assertClosedAfter(client);
});

test('each connection gets a fresh random challenge', { timeout: 10_000 }, async () => {
  const challenges = await Promise.all(
    [1, 2].map(async () => {
      const { client, challenge } = await openAtChallenge(VM);
      client.close();
      return challenge;
    }),
  );
  assert.notDeepEqual(challenges[0], challenges[1]);
});
