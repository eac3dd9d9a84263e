// webhook_url and webhook_secret: both or neither, the secret at least 32 characters, from the
// file or the environment like every field; a bad one stops the gateway naming the field, never
// repeating the secret.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';

const AUTH = 'a'.repeat(32);
const load = (env: Record<string, string>) => loadConfig({ env: { PROXMOXVNC_AUTHORIZATION: AUTH, ...env }, flags: {} });

describe('webhook configuration', () => {
  it('takes both fields from the environment', () => {
    const loaded = load({ PROXMOXVNC_WEBHOOK_URL: 'https://panel.example.com/hooks?key=1', PROXMOXVNC_WEBHOOK_SECRET: 's'.repeat(32), PROXMOXVNC_WEBHOOK_TIMEOUT: '2.5' });
    assert.ok('config' in loaded, JSON.stringify(loaded));
    assert.equal(loaded.config.webhook_url, 'https://panel.example.com/hooks?key=1');
    assert.equal(loaded.config.webhook_secret, 's'.repeat(32));
    assert.equal(loaded.config.webhook_timeout, 2.5);
    assert.equal(loaded.config.webhook_retry_initial, 1);
  });

  it('refuses a short or missing secret, a secret without a URL, and a URL that is not http(s)', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ PROXMOXVNC_WEBHOOK_URL: 'https://panel.example.com/hooks', PROXMOXVNC_WEBHOOK_SECRET: 'short-secret-x' }, /webhook_secret.*at least 32 characters.*openssl rand/],
      [{ PROXMOXVNC_WEBHOOK_URL: 'https://panel.example.com/hooks' }, /webhook_secret.*required with webhook_url/],
      [{ PROXMOXVNC_WEBHOOK_SECRET: 's'.repeat(32) }, /webhook_url.*required with webhook_secret/],
      [{ PROXMOXVNC_WEBHOOK_URL: 'ftp://panel.example.com/', PROXMOXVNC_WEBHOOK_SECRET: 's'.repeat(32) }, /webhook_url.*http:\/\/ or https:\/\//],
    ];
    for (const [env, message] of cases) {
      const loaded = load(env);
      assert.ok('problems' in loaded, `refused: ${JSON.stringify(env)}`);
      const text = loaded.problems.join('\n');
      assert.match(text, message);
      assert.ok(!text.includes('short-secret-x'), 'the secret is not repeated');
    }
  });

  it('keeps the secret out of a log line that names it by its field', () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(chunk.toString()), done()) });
    const secret = 'w'.repeat(40);
    createLogger({ enabled: true, level: 'debug', format: 'json' }, sink).warn('config', { webhook_secret: secret, nested: { webhookSecret: secret } });
    assert.equal(lines.length, 1);
    assert.ok(!lines[0]!.includes(secret), lines[0]);
  });
});
