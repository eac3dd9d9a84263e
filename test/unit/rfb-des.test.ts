import assert from 'node:assert/strict';
import { test } from 'node:test';
import { desEncryptEcb, vncAuthResponse, vncDesKey } from '../../src/console/rfb/des.js';

const CHALLENGE = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');

test('DES: the standard vector from pve-protocol.md goes through the des-ede-ecb setup', () => {
  const out = desEncryptEcb(Buffer.from('0123456789ABCDEF', 'hex'), Buffer.from('Now is t', 'latin1'));
  assert.equal(out.toString('hex').toUpperCase(), '3FA40E8A984D4815');
});

test('VNC key: password bytes zero-padded to 8, each byte bit-reversed', () => {
  // "p" = 0x70 = 01110000 -> 00001110 = 0x0E; "v" 0x76 -> 0x6E; "e" 0x65 -> 0xA6.
  assert.equal(vncDesKey('pve').toString('hex').toUpperCase(), '0E6EA60000000000');
  assert.equal(vncDesKey('Secret12').toString('hex').toUpperCase(), 'CAA6C64EA62E8C4C');
  // Only the first 8 bytes count, as in QEMU.
  assert.deepEqual(vncDesKey('Secret12-and-more'), vncDesKey('Secret12'));
});

// Expected responses computed independently with the OpenSSL command line (legacy single DES), with
// the bit-reversed key written out by hand:
//   printf '000102030405060708090a0b0c0d0e0f' | xxd -r -p > chal.bin
//   openssl enc -des-ecb -provider legacy -provider default -K CAA6C64EA62E8C4C -nopad -in chal.bin | xxd -p
//   openssl enc -des-ecb -provider legacy -provider default -K 0E6EA60000000000 -nopad -in chal.bin | xxd -p
test('VNC auth response matches openssl des-ecb with the bit-reversed key', () => {
  assert.equal(vncAuthResponse('Secret12', CHALLENGE).toString('hex'), '87e584d4d47d3a3bd452491de1935e3a');
  assert.equal(vncAuthResponse('pve', CHALLENGE).toString('hex'), '50dcc8c29a59c95d8469e701c639050b');
});

test('VNC auth response refuses a challenge of the wrong size', () => {
  assert.throws(() => vncAuthResponse('pve', Buffer.alloc(15)), /16 bytes/);
});
