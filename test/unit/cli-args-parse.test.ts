import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseArgs, USAGE } from '../../src/cli-args.js';

describe('parseArgs', () => {
  it('runs the gateway when no command is given', () => {
    assert.deepEqual(parseArgs([]), { command: 'run' });
  });

  it('accepts the original single-dash flags', () => {
    assert.deepEqual(parseArgs(['-config', 'config.json', '-port', '9000']), { command: 'run', config: 'config.json', port: 9000 });
  });

  it('accepts every spelling of the value flags', () => {
    const expected = { command: 'run', config: '/etc/proxmoxvnc.json', port: 8080 };
    for (const argv of [
      ['--config', '/etc/proxmoxvnc.json', '--port', '8080'],
      ['-config=/etc/proxmoxvnc.json', '-port=8080'],
      ['--config=/etc/proxmoxvnc.json', '--port=8080'],
      ['--port', '8080', '-config', '/etc/proxmoxvnc.json'],
    ]) {
      assert.deepEqual(parseArgs(argv), expected, argv.join(' '));
    }
  });

  it('takes a value that starts with a dash only in the = form', () => {
    assert.deepEqual(parseArgs(['-config=-odd-name.json']), { command: 'run', config: '-odd-name.json' });
  });

  it('reads help and version in short, single-dash and double-dash forms', () => {
    for (const flag of ['-h', '--help', '-help']) assert.deepEqual(parseArgs([flag]), { command: 'help' }, flag);
    for (const flag of ['-v', '--version', '-version']) assert.deepEqual(parseArgs([flag]), { command: 'version' }, flag);
    assert.deepEqual(parseArgs(['-config', 'x.json', '--help']), { command: 'help' });
  });

  it('reads the demo command with an optional port', () => {
    assert.deepEqual(parseArgs(['demo']), { command: 'demo' });
    assert.deepEqual(parseArgs(['demo', '--port', '0']), { command: 'demo', port: 0 });
    assert.deepEqual(parseArgs(['-port', '8000', 'demo']), { command: 'demo', port: 8000 });
  });

  it('reads the demo backend, and refuses one it does not know or outside the demo', () => {
    assert.deepEqual(parseArgs(['demo', '--backend', 'builtin']), { command: 'demo', backend: 'builtin' });
    assert.deepEqual(parseArgs(['demo', '-backend=qemu', '--port', '9000']), { command: 'demo', backend: 'qemu', port: 9000 });
    assert.deepEqual(parseArgs(['demo', '--backend', 'spice']), { error: 'flag --backend: "spice" is neither builtin nor qemu' });
    assert.deepEqual(parseArgs(['--backend', 'qemu']), { error: 'flag --backend is for the demo only' });
  });

  it('refuses unknown flags', () => {
    assert.deepEqual(parseArgs(['-confg', 'x.json']), { error: 'unknown flag --confg' });
    assert.deepEqual(parseArgs(['--verbose']), { error: 'unknown flag --verbose' });
    assert.deepEqual(parseArgs(['-x']), { error: 'unknown flag -x' });
  });

  it('refuses a value flag without a value', () => {
    assert.deepEqual(parseArgs(['-config']), { error: 'flag --config needs a value' });
    assert.deepEqual(parseArgs(['--port']), { error: 'flag --port needs a value' });
    assert.deepEqual(parseArgs(['-config', '-port', '80']), { error: 'flag --config needs a value' });
    assert.deepEqual(parseArgs(['-config=']), { error: 'flag --config needs a file name' });
  });

  it('refuses a value on a switch', () => {
    assert.deepEqual(parseArgs(['--help=yes']), { error: 'flag --help takes no value' });
  });

  it('refuses a port that is not a port number', () => {
    for (const text of ['abc', '65536', '-1', '80.5', '']) {
      assert.ok('error' in parseArgs([`-port=${text}`]), text);
    }
    assert.deepEqual(parseArgs(['-port', 'abc']), { error: 'flag --port: "abc" is not a port number (0 to 65535)' });
  });

  it('refuses unknown commands and extra arguments', () => {
    assert.deepEqual(parseArgs(['serve']), { error: 'unknown command "serve" (the only command is demo)' });
    assert.deepEqual(parseArgs(['demo', 'now']), { error: 'unexpected arguments: now' });
  });
});

describe('USAGE', () => {
  it('lists the flags, the environment convention and the demo command', () => {
    for (const part of ['-config FILE', '-port N', '--help', '--version', 'PROXMOXVNC_<FIELD IN UPPER CASE>', 'proxmoxvnc demo']) {
      assert.ok(USAGE.includes(part), part);
    }
  });
});
