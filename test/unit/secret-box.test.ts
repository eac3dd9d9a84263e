import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { parseSecretKey, SecretBox, SecretBoxError } from '../../src/redis/secret-box.js';

describe('SecretBox', () => {
  const key = randomBytes(32);
  const box = new SecretBox(key);

  it('seals so that neither the text nor any part of it shows, and opens again', () => {
    const ticket = 'PVE:vncuser@pve:66BF2A1C::M2Vm5dXh8e0VvQ9Bz7N1qkz';
    const sealed = box.seal(ticket, 'proxmoxvnc:session:{abc}');
    assert.ok(!sealed.includes('PVE') && !sealed.includes('M2Vm5dXh8e0'));
    assert.notEqual(box.seal(ticket, 'k'), box.seal(ticket, 'k'), 'a fresh IV each time');
    assert.equal(box.open(sealed, 'proxmoxvnc:session:{abc}'), ticket);
  });

  it('refuses a value under another key name, altered, or sealed with another key', () => {
    const sealed = box.seal('secret', 'a');
    assert.throws(() => box.open(sealed, 'b'), SecretBoxError);
    const parts = sealed.split('.');
    parts[4] = Buffer.from('xxxxxx').toString('base64url');
    assert.throws(() => box.open(parts.join('.'), 'a'), SecretBoxError);
    assert.throws(() => new SecretBox(randomBytes(32)).open(sealed, 'a'), /unknown key/);
    assert.throws(() => box.open('plain text', 'a'), SecretBoxError);
  });

  it('opens values of a previous key after a rotation, and seals with the new one', () => {
    const rotated = new SecretBox(randomBytes(32), [key]);
    const old = box.seal('before', 'k');
    assert.equal(rotated.open(old, 'k'), 'before');
    assert.throws(() => box.open(rotated.seal('after', 'k'), 'k'), /unknown key/);
  });

  it('reads keys in hex or base64, 32 bytes only', () => {
    assert.deepEqual(parseSecretKey(key.toString('hex')), key);
    assert.deepEqual(parseSecretKey(key.toString('base64')), key);
    assert.equal(parseSecretKey(randomBytes(16).toString('hex')), null);
    assert.equal(parseSecretKey('not a key'), null);
  });
});
