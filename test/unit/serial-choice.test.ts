// Which serial port a VM's text console attaches to, from its config, as Proxmox picks it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isProxmoxError } from '../../src/proxmox/errors.js';
import { chooseSerial } from '../../src/proxmox/serial.js';

const notConfigured = (error: unknown) => isProxmoxError(error, 'serial_not_configured');

test('vga: serialN when that port is a socket, in any of its spellings', () => {
  assert.equal(chooseSerial({ vga: 'serial1', serial0: 'socket', serial1: 'socket' }, 100), 'serial1');
  assert.equal(chooseSerial({ vga: 'type=serial2', serial2: 'socket' }, 100), 'serial2');
  assert.equal(chooseSerial({ vga: 'serial3,memory=16', serial0: 'socket', serial3: 'socket' }, 100), 'serial3');
});

test('otherwise the first serialN: socket, skipping host devices', () => {
  assert.equal(chooseSerial({ serial0: '/dev/ttyS0', serial2: 'socket', serial3: 'socket' }, 100), 'serial2');
  assert.equal(chooseSerial({ vga: 'std', serial1: 'socket' }, 100), 'serial1');
  assert.equal(chooseSerial({ vga: 'serial0', serial0: '/dev/ttyS0', serial1: 'socket' }, 100), 'serial1', 'a vga port that is no socket is passed over');
});

test('none, or one asked for that is no socket: serial_not_configured', () => {
  assert.throws(() => chooseSerial({ vga: 'std', name: 'web01' }, 100), notConfigured);
  assert.throws(() => chooseSerial({ serial0: '/dev/ttyS0' }, 100), notConfigured);
  assert.throws(() => chooseSerial({ serial0: 'socket' }, 100, 'serial1'), notConfigured);
  assert.throws(() => chooseSerial({ serial1: '/dev/ttyS1' }, 100, 'serial1'), (e: unknown) => notConfigured(e) && /not a socket/.test((e as Error).message));
  assert.equal(chooseSerial({ serial1: 'socket' }, 100, 'serial1'), 'serial1');
});
