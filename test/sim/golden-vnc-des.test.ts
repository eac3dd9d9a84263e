// Golden vectors for VNC authentication, checked against both DES implementations: the
// simulator's and the test helper's (they share no code on purpose).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { desEcbEncrypt, expectedVncResponse } from '../../sim/consoles/vnc-auth.js';
import { vncDesResponse } from '../helpers/rfb-client.js';

// pve-protocol.md: the standard DES test vector.
const DES_KEY = Buffer.from('0123456789ABCDEF', 'hex');
const DES_PLAINTEXT = Buffer.from('Now is t', 'latin1');
const DES_CIPHERTEXT = Buffer.from('3FA40E8A984D4815', 'hex');
// The password whose bytes, each bit-mirrored as VNC does, are DES_KEY.
const PASSWORD_FOR_DES_KEY = Buffer.from('80C4A2E691D5B3F7', 'hex').toString('latin1');

const CHALLENGE = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
// Obtained independently with the OpenSSL command line (legacy provider for plain DES), the key
// being the password's bytes bit-mirrored (for "Pa55w:rd": 0a86acacee5c4e26):
//   printf 000102030405060708090a0b0c0d0e0f | xxd -r -p \
//     | openssl enc -des-ecb -provider legacy -provider default -K 0a86acacee5c4e26 -nopad | xxd -p
const RESPONSE_PA55W_RD = Buffer.from('c7b5f1299a18e13950cac54b3079a678', 'hex');
// The same for "abc", zero-padded to 8 bytes (key 8646c60000000000).
const RESPONSE_ABC = Buffer.from('9c22b4f2088c3465a1562c4b9d6edb04', 'hex');

test('simulator DES gives the standard DES test vector', () => {
  assert.deepEqual(desEcbEncrypt(DES_KEY, DES_PLAINTEXT), DES_CIPHERTEXT);
});

test('both VNC responses mirror the key bits and give the standard DES test vector', () => {
  assert.deepEqual(expectedVncResponse(DES_PLAINTEXT, PASSWORD_FOR_DES_KEY), DES_CIPHERTEXT);
  assert.deepEqual(vncDesResponse(DES_PLAINTEXT, PASSWORD_FOR_DES_KEY), DES_CIPHERTEXT);
});

test('both VNC responses match the OpenSSL-computed fixed-challenge vector', () => {
  assert.deepEqual(expectedVncResponse(CHALLENGE, 'Pa55w:rd'), RESPONSE_PA55W_RD);
  assert.deepEqual(vncDesResponse(CHALLENGE, 'Pa55w:rd'), RESPONSE_PA55W_RD);
});

test('passwords are zero-padded and cut to 8 bytes', () => {
  assert.deepEqual(expectedVncResponse(CHALLENGE, 'abc'), RESPONSE_ABC);
  assert.deepEqual(vncDesResponse(CHALLENGE, 'abc'), RESPONSE_ABC);
  assert.deepEqual(expectedVncResponse(CHALLENGE, 'Pa55w:rdIGNORED'), RESPONSE_PA55W_RD);
  assert.deepEqual(vncDesResponse(CHALLENGE, 'Pa55w:rdIGNORED'), RESPONSE_PA55W_RD);
});
