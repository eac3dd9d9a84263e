import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger, MAX_FIELD_CHARS, scrubSecrets } from '../../src/log.js';
import { GROWTH_FACTOR, growthRatio, LINEAR_GROWTH_LIMIT } from '../helpers/cost.js';

/** 50 KB and 100 KB of text shaped to make each pattern's quantifiers fight over characters. */
const ADVERSARIAL: Record<string, (size: number) => string> = {
  'letters (a long foreign Origin)': (n) => 'https://'.padEnd(n, 'a'),
  'user@ without a token id': (n) => 'a@'.repeat(n / 2),
  'user@realm without "!"': (n) => `a@${'b'.repeat(n - 2)}`,
  'user@realm!id without "="': (n) => `a@b!${'c'.repeat(n - 4)}`,
  'repeated user@realm!': (n) => 'a@b!'.repeat(n / 4),
  'repeated "!"': (n) => '!'.repeat(n),
  'repeated "="': (n) => 'a='.repeat(n / 2),
  'escaped VNC password prefixes': (n) => '%25'.repeat(n / 3),
  'raw VNC password prefixes': (n) => '!'.repeat(n - 4) + 'PVE',
  'ticket prefixes without a ticket': (n) => 'PVE'.repeat(n / 3),
  'ticket bodies': (n) => 'PVE:'.repeat(n / 4),
  'cookie names': (n) => 'PVEAuthCookie='.repeat(n / 14),
  'API token headers': (n) => 'PVEAPIToken '.repeat(n / 12),
  'hex runs before a colon': (n) => '0'.repeat(n - 1) + ':',
  'CSRF prefixes with short bodies': (n) => '00000000:AAAA '.repeat(n / 14),
  'CSRF bodies without a boundary': (n) => `00000000:${'A'.repeat(n - 9)}`,
};

const SIZE = 50_000;

function jsonLogger(component: string) {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { log: createLogger({ enabled: true, level: 'debug', format: 'json' }, sink).child(component), lines };
}

describe('log scrubbing cost', () => {
  for (const [name, make] of Object.entries(ADVERSARIAL)) {
    it(`grows linearly for ${name} (50 KB against 100 KB)`, () => {
      const inputs = new Map([SIZE, GROWTH_FACTOR * SIZE].map((n) => [n, make(n)]));
      const ratio = growthRatio((n) => scrubSecrets(inputs.get(n)!), SIZE);
      assert.ok(ratio < LINEAR_GROWTH_LIMIT, `${GROWTH_FACTOR}x the input cost ${ratio.toFixed(2)}x the CPU time`);
    });
  }

  it('caps a long field, noting its length, so one refused request costs a bounded line', () => {
    const { log, lines } = jsonLogger('CONSOLE');
    const origin = `https://${'a'.repeat(100_000)}.example`;
    log.warn('websocket from a foreign origin refused', { origin });
    const line = JSON.parse(lines[0]!) as { origin: string; msg: string };
    assert.ok(line.origin.length < MAX_FIELD_CHARS + 32, `field of ${line.origin.length} characters`);
    assert.ok(line.origin.startsWith('https://aaaa'));
    assert.match(line.origin, /…\(100016 chars\)$/);
  });

  it('still redacts a secret that straddles the cut', () => {
    const { log, lines } = jsonLogger('PROXMOX');
    const secret = '0b8f2a6e-51c4-4d3e-9a7b-2f6c1d8e4a90';
    const detail = `${'x'.repeat(MAX_FIELD_CHARS - 20)} vncuser@pve!console=${secret} ${'y'.repeat(5000)}`;
    log.error('failed', { detail });
    assert.ok(!lines[0]!.includes(secret.slice(0, 8)), lines[0]);
  });
});
