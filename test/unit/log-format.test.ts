import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger, silentLogger, tokenPrefix, type LogOptions } from '../../src/log.js';

function capture(opts: Partial<LogOptions> = {}) {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter((line) => line !== ''));
      done();
    },
  });
  const logger = createLogger({ enabled: true, level: 'debug', format: 'text', ...opts }, sink);
  return { logger, lines };
}

const TIMESTAMP = String.raw`\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}`;

describe('text format', () => {
  it('writes the original program\'s line shape with local time and tags', () => {
    const { logger, lines } = capture();
    const before = new Date();
    logger.child('ROUTER').info('Starting VNC Router on port 9999');
    assert.equal(lines.length, 1);
    const match = new RegExp(`^(${TIMESTAMP}) \\[ROUTER\\] \\[INFO\\] Starting VNC Router on port 9999$`).exec(lines[0] ?? '');
    assert.ok(match, lines[0]);
    const pad = (n: number) => String(n).padStart(2, '0');
    const expectedDate = `${before.getFullYear()}/${pad(before.getMonth() + 1)}/${pad(before.getDate())}`;
    assert.equal(match[1]?.slice(0, 10), expectedDate);
  });

  it('puts the bound session first, then fields as key=value', () => {
    const { logger, lines } = capture();
    logger.child('SESSION', { session: 'abc123' }).warn('viewer left', { vmid: 100, reason: 'closed by peer', ok: false });
    assert.match(lines[0] ?? '', new RegExp(`^${TIMESTAMP} \\[SESSION\\] \\[WARN\\] viewer left session=abc123 vmid=100 reason="closed by peer" ok=false$`));
  });

  it('keeps the session in grandchildren and replaces the component tag', () => {
    const { logger, lines } = capture();
    logger.child('SESSION', { session: 's-1' }).child('CONSOLE').error('upstream closed');
    assert.match(lines[0] ?? '', / \[CONSOLE\] \[ERROR\] upstream closed session=s-1$/);
    assert.doesNotMatch(lines[0] ?? '', /SESSION/);
  });

  it('renames fields that would clash with the line\'s own parts', () => {
    const { logger, lines } = capture();
    logger.child('ROUTER').info('m', { level: 'x', time: 5 });
    assert.match(lines[0] ?? '', /\[INFO\] m field_level=x field_time=5$/);
  });

  it('shows an Error field as its name and message (above debug level)', () => {
    const { logger, lines } = capture({ level: 'info' });
    logger.child('PROXMOX').error('login failed', { err: new TypeError('fetch failed') });
    assert.match(lines[0] ?? '', /login failed err="TypeError: fetch failed"$/);
  });
});

describe('json format', () => {
  it('writes one JSON object per line with component, session, level, time and fields', () => {
    const { logger, lines } = capture({ format: 'json' });
    logger.child('CONTROL', { session: 'sess9' }).info('token created', { vmid: 101, token_prefix: tokenPrefix('0123456789abcdef') });
    assert.equal(lines.length, 1);
    const entry = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
    assert.equal(entry.level, 'info');
    assert.equal(entry.component, 'CONTROL');
    assert.equal(entry.session, 'sess9');
    assert.equal(entry.msg, 'token created');
    assert.equal(entry.vmid, 101);
    assert.equal(entry.token_prefix, '012345…');
    assert.ok(!Number.isNaN(Date.parse(String(entry.time))));
  });
});

describe('levels', () => {
  it('drops lines below the configured level', () => {
    const { logger, lines } = capture({ level: 'warn' });
    const log = logger.child('ROUTER');
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    assert.deepEqual(
      lines.map((line) => /\[(\w+)\] \w$/.exec(line)?.[1]),
      ['WARN', 'ERROR'],
    );
  });

  it('does not look at the fields of a disabled level', () => {
    const { logger, lines } = capture({ level: 'info' });
    const fields = {
      get expensive(): string {
        throw new Error('fields of a disabled level were read');
      },
    };
    logger.debug('skipped', fields);
    assert.equal(lines.length, 0);
  });

  it('writes nothing when logging is disabled', () => {
    const logger = createLogger({ enabled: false, level: 'debug', format: 'text' });
    assert.equal(logger, silentLogger);
    assert.equal(logger.child('ROUTER', { session: 'x' }), silentLogger);
  });
});

describe('log file', () => {
  it('appends to the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'proxmoxvnc-log-'));
    try {
      const file = join(dir, 'logs', 'gateway.log');
      createLogger({ enabled: true, level: 'info', format: 'text', file }).child('ROUTER').info('first');
      writeFileSync(file, 'kept\n', { flag: 'a' });
      createLogger({ enabled: true, level: 'info', format: 'text', file }).child('ROUTER').info('second');
      const lines = readFileSync(file, 'utf8').trim().split('\n');
      assert.equal(lines.length, 3);
      assert.match(lines[0] ?? '', /\[ROUTER\] \[INFO\] first$/);
      assert.equal(lines[1], 'kept');
      assert.match(lines[2] ?? '', /\[ROUTER\] \[INFO\] second$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails at creation when the file cannot be opened', () => {
    const dir = mkdtempSync(join(tmpdir(), 'proxmoxvnc-log-'));
    try {
      const notADirectory = join(dir, 'plain-file');
      writeFileSync(notADirectory, '');
      assert.throws(() => createLogger({ enabled: true, level: 'info', format: 'text', file: join(notADirectory, 'gateway.log') }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('tokenPrefix', () => {
  it('never gives the whole token', () => {
    assert.equal(tokenPrefix('Zx81abcdefghijklmnopqrstuvw'), 'Zx81ab…');
    assert.equal(tokenPrefix('abcd'), 'ab…');
    assert.equal(tokenPrefix('a'), '…');
  });
});

describe('errors in log lines (issue 9)', () => {
  const failure = () => {
    const socketError = Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:8006 ticket PVE:root@pam:65A1B2C3::c2lnbmF0dXJl'), { code: 'ECONNREFUSED' });
    return new Error('Proxmox could not be reached', { cause: new TypeError('fetch failed', { cause: socketError }) });
  };

  it('gives the message at info, and the stack and the cause chain, scrubbed, at debug', () => {
    const info = capture({ level: 'info', format: 'json' });
    info.logger.warn('call failed', { error: failure() });
    const line = JSON.parse(info.lines[0]!) as Record<string, unknown>;
    assert.equal(line.error, 'Error: Proxmox could not be reached');
    assert.equal(line.error_stack, undefined);
    assert.equal(line.error_causes, undefined);

    const debug = capture({ level: 'debug', format: 'json' });
    debug.logger.warn('call failed', { error: failure() });
    const detailed = JSON.parse(debug.lines[0]!) as { error: string; error_stack: string; error_causes: string[] };
    assert.equal(detailed.error, 'Error: Proxmox could not be reached');
    assert.match(detailed.error_stack, /^Error: Proxmox could not be reached\n\s+at /);
    assert.match(detailed.error_stack, /log-format\.test\.js/, 'the stack says where it was thrown');
    assert.deepEqual(detailed.error_causes, ['TypeError: fetch failed', 'Error: connect ECONNREFUSED 10.0.0.5:8006 ticket [redacted]']);
  });
});
