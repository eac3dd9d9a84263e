import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig, type Config, type LoadConfigInput } from '../../src/config/index.js';

const SECRET = '3f9c2a7be1d04c58a6f1e2d3c4b5a69788fe0d1c2b3a4958';
const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'proxmoxvnc-config-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
function writeConfig(content: unknown): string {
  const file = join(dir, `config-${fileCount++}.json`);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return file;
}

function load(input: Partial<LoadConfigInput>): ReturnType<typeof loadConfig> {
  return loadConfig({ env: {}, flags: {}, ...input });
}

function loaded(input: Partial<LoadConfigInput>): { config: Config; warnings: string[] } {
  const result = load(input);
  assert.ok('config' in result, `expected a config, got problems: ${JSON.stringify(result)}`);
  return result;
}

function problems(input: Partial<LoadConfigInput>): string[] {
  const result = load(input);
  assert.ok('problems' in result, 'expected problems, got a config');
  return result.problems;
}

describe('defaults', () => {
  it('fills every optional field', () => {
    const { config } = loaded({ file: writeConfig({ authorization: SECRET, public_host: 'console.example.com' }) });
    assert.deepEqual(
      {
        logging_enabled: config.logging_enabled,
        logging_level: config.logging_level,
        router_ip: config.router_ip,
        router_port: config.router_port,
        log_format: config.log_format,
        trust_proxy: config.trust_proxy,
        token_ttl: config.token_ttl,
        reconnect_grace: config.reconnect_grace,
        session_max_duration: config.session_max_duration,
        idle_timeout: config.idle_timeout,
        max_viewers_per_session: config.max_viewers_per_session,
        max_sessions: config.max_sessions,
        max_pending_tokens: config.max_pending_tokens,
        proxmox_timeout: config.proxmox_timeout,
        proxmox_tls_insecure: config.proxmox_tls_insecure,
        proxmox_hosts_allowed: config.proxmox_hosts_allowed,
        frame_ancestors: config.frame_ancestors,
        allowed_origins: config.allowed_origins,
        rate_limit_auth_failures: config.rate_limit_auth_failures,
        rate_limit_redemptions: config.rate_limit_redemptions,
        drain_time: config.drain_time,
        proxmox_ca_pem: config.proxmox_ca_pem,
        session_ports: config.session_ports,
      },
      {
        logging_enabled: true,
        logging_level: 'info',
        router_ip: '0.0.0.0',
        router_port: 9999,
        log_format: 'text',
        trust_proxy: false,
        token_ttl: 300,
        reconnect_grace: 300,
        session_max_duration: 43200,
        idle_timeout: 0,
        max_viewers_per_session: 2,
        max_sessions: 10000,
        max_pending_tokens: 10000,
        proxmox_timeout: 10,
        proxmox_tls_insecure: false,
        proxmox_hosts_allowed: [],
        frame_ancestors: [],
        allowed_origins: [],
        rate_limit_auth_failures: 10,
        rate_limit_redemptions: 30,
        drain_time: 10,
        proxmox_ca_pem: undefined,
        session_ports: undefined,
      },
    );
  });

  it("accepts the original program's example file (with a long enough secret)", () => {
    const { config, warnings } = loaded({
      file: writeConfig({
        authorization: SECRET,
        logging_enabled: true,
        logging_level: 'ERROR',
        log_file: 'proxmoxvnc.log',
        public_ip: '203.0.113.10',
        router_ip: '0.0.0.0',
        router_port: 9999,
        novnc_path: './internal/vnc/novnc',
        proxmox_hosts_allowed: ['203.0.113.0/24'],
      }),
    });
    assert.equal(config.logging_level, 'error');
    assert.equal(config.log_file, 'proxmoxvnc.log');
    assert.deepEqual(warnings, ['novnc_path is not used (ignored): the console page is built into the gateway']);
  });

  it('reads the Redis fields from the environment, with a key prefix by default', () => {
    const key = 'ab'.repeat(32);
    const { config } = loaded({
      env: { PROXMOXVNC_AUTHORIZATION: SECRET, PROXMOXVNC_REDIS_URL: 'rediss://gw:pw@cache:6380', PROXMOXVNC_REDIS_SECRET_KEY: key },
    });
    assert.equal(config.redis_url, 'rediss://gw:pw@cache:6380');
    assert.equal(config.redis_secret_key, key);
    assert.equal(config.redis_key_prefix, 'proxmoxvnc:');
  });

  it('refuses redis_url without redis_secret_key, saying how to make one, and with session_ports', () => {
    const found = problems({ env: { PROXMOXVNC_AUTHORIZATION: SECRET, PROXMOXVNC_REDIS_URL: 'redis://127.0.0.1:6379', PROXMOXVNC_SESSION_PORTS: '10000-10010' } });
    assert.ok(found.some((p) => p.startsWith('redis_secret_key: required with redis_url') && p.includes('openssl rand -hex 32')), found.join('\n'));
    assert.ok(found.some((p) => p.startsWith('session_ports: cannot be used with redis_url')), found.join('\n'));
    const weak = problems({ env: { PROXMOXVNC_AUTHORIZATION: SECRET, PROXMOXVNC_REDIS_URL: 'redis://127.0.0.1:6379', PROXMOXVNC_REDIS_SECRET_KEY: 'short-secret-xyz' } });
    assert.ok(weak.some((p) => p.startsWith('redis_secret_key: must be 32 random bytes')), weak.join('\n'));
    assert.ok(!weak.join('\n').includes('short-secret-xyz'), 'the key is never repeated');
  });

  it('reads "warning" and upper-case levels as the original did', () => {
    assert.equal(loaded({ env: { PROXMOXVNC_AUTHORIZATION: SECRET, PROXMOXVNC_LOGGING_LEVEL: 'WARNING' } }).config.logging_level, 'warn');
    assert.equal(loaded({ env: { PROXMOXVNC_AUTHORIZATION: SECRET, PROXMOXVNC_LOGGING_LEVEL: 'Debug' } }).config.logging_level, 'debug');
  });
});

describe('precedence: flag, then environment, then file, then default', () => {
  it('takes the port from the flag over environment and file', () => {
    const file = writeConfig({ authorization: SECRET, router_port: 8000 });
    assert.equal(loaded({ file, env: { PROXMOXVNC_ROUTER_PORT: '8100' }, flags: { port: 8200 } }).config.router_port, 8200);
  });

  it('takes the environment over the file', () => {
    const file = writeConfig({ authorization: SECRET, router_port: 8000, log_format: 'text' });
    const { config } = loaded({ file, env: { PROXMOXVNC_ROUTER_PORT: '8100', PROXMOXVNC_LOG_FORMAT: 'json' } });
    assert.equal(config.router_port, 8100);
    assert.equal(config.log_format, 'json');
  });

  it('takes the file over the default', () => {
    assert.equal(loaded({ file: writeConfig({ authorization: SECRET, router_port: 8000 }) }).config.router_port, 8000);
  });

  it('needs no file when the environment supplies the secret', () => {
    const { config } = loaded({ env: { PROXMOXVNC_AUTHORIZATION: SECRET } });
    assert.equal(config.authorization, SECRET);
    assert.equal(config.router_port, 9999);
  });

  it('treats an empty variable as unset', () => {
    const file = writeConfig({ authorization: SECRET, router_port: 8000 });
    assert.equal(loaded({ file, env: { PROXMOXVNC_ROUTER_PORT: '' } }).config.router_port, 8000);
  });
});

describe('environment values', () => {
  const env = (extra: NodeJS.ProcessEnv) => ({ PROXMOXVNC_AUTHORIZATION: SECRET, ...extra });

  it('splits lists on commas and trims them', () => {
    const { config } = loaded({
      env: env({
        PROXMOXVNC_PROXMOX_HOSTS_ALLOWED: 'pve1.example.com, 10.0.0.0/8 ,,192.0.2.7',
        PROXMOXVNC_FRAME_ANCESTORS: 'https://panel.example.com,https://*.example.org',
        PROXMOXVNC_ALLOWED_ORIGINS: 'https://admin.example.com:8443',
      }),
    });
    assert.deepEqual(config.proxmox_hosts_allowed, ['pve1.example.com', '10.0.0.0/8', '192.0.2.7']);
    assert.deepEqual(config.frame_ancestors, ['https://panel.example.com', 'https://*.example.org']);
    assert.deepEqual(config.allowed_origins, ['https://admin.example.com:8443']);
  });

  it('reads booleans as true/false/1/0', () => {
    for (const [text, value] of [['true', true], ['1', true], ['TRUE', true], ['false', false], ['0', false]] as const) {
      assert.equal(loaded({ env: env({ PROXMOXVNC_LOGGING_ENABLED: text }) }).config.logging_enabled, value, text);
    }
  });

  it('reads numbers, fractions included for durations', () => {
    const { config } = loaded({ env: env({ PROXMOXVNC_TOKEN_TTL: '60', PROXMOXVNC_PROXMOX_TIMEOUT: '2.5', PROXMOXVNC_MAX_SESSIONS: '5000' }) });
    assert.equal(config.token_ttl, 60);
    assert.equal(config.proxmox_timeout, 2.5);
    assert.equal(config.max_sessions, 5000);
  });

  it('reads trust_proxy as a boolean or a list', () => {
    assert.equal(loaded({ env: env({ PROXMOXVNC_TRUST_PROXY: 'true' }) }).config.trust_proxy, true);
    assert.deepEqual(loaded({ env: env({ PROXMOXVNC_TRUST_PROXY: '127.0.0.1,10.0.0.0/8' }) }).config.trust_proxy, ['127.0.0.1', '10.0.0.0/8']);
  });

  it('reads session_ports as from-to or JSON', () => {
    assert.deepEqual(loaded({ env: env({ PROXMOXVNC_SESSION_PORTS: '10000-10999' }) }).config.session_ports, { from: 10000, to: 10999 });
    assert.deepEqual(loaded({ env: env({ PROXMOXVNC_SESSION_PORTS: '{"from":20000,"to":20010}' }) }).config.session_ports, { from: 20000, to: 20010 });
  });

  it('names the variable in a problem with its value', () => {
    const found = problems({ env: env({ PROXMOXVNC_ROUTER_PORT: 'ninety', PROXMOXVNC_LOGGING_ENABLED: 'yes please' }) });
    assert.deepEqual(found.sort(), [
      'logging_enabled: must be true or false (from PROXMOXVNC_LOGGING_ENABLED)',
      'router_port: must be a whole number from 0 to 65535 (from PROXMOXVNC_ROUTER_PORT)',
    ]);
  });

  it('warns about an unknown variable and suggests the meant one', () => {
    const { warnings } = loaded({ env: env({ PROXMOXVNC_ROUTER_PROT: '1' }) });
    assert.ok(warnings.includes('unknown environment variable PROXMOXVNC_ROUTER_PROT (ignored); did you mean PROXMOXVNC_ROUTER_PORT?'), warnings.join('\n'));
  });
});

describe('problems', () => {
  it('lists every invalid field at once, by name', () => {
    const found = problems({
      file: writeConfig({
        authorization: 'short',
        router_port: 70000,
        logging_level: 'loud',
        token_ttl: 7200,
        max_viewers_per_session: 0,
        public_url: 'https://console.example.com/path',
        trust_proxy: ['10.0.0.1', 'not-an-address'],
        redis_url: 'http://user:redispw@cache:6379',
        tls_cert_file: join(dir, 'missing-cert.pem'),
        frame_ancestors: ['https://ok.example.com', "https://x.example.com; script-src 'unsafe-inline'"],
        session_ports: { from: 11000, to: 10000 },
      }),
    });
    const fields = found.map((problem) => problem.slice(0, problem.indexOf(':')));
    assert.deepEqual(fields.sort(), [
      'authorization',
      'frame_ancestors[1]',
      'logging_level',
      'max_viewers_per_session',
      'public_url',
      'redis_url',
      'router_port',
      'session_ports',
      'tls_cert_file',
      'tls_key_file',
      'token_ttl',
      'trust_proxy[1]',
    ]);
    assert.ok(!found.join('\n').includes('redispw'), 'a password inside redis_url is not repeated');
  });

  it('explains how to make a secret and never shows it', () => {
    const weak = 'my-weak-secret-123';
    const found = problems({ file: writeConfig({ authorization: weak }) });
    assert.deepEqual(found, ['authorization: must be at least 32 characters; make one with: openssl rand -hex 32']);
    assert.ok(!found.join('\n').includes(weak));
  });

  it('says where to set a missing secret', () => {
    const found = problems({ file: writeConfig({ router_port: 9999 }) });
    assert.equal(found.length, 1);
    assert.match(found[0] ?? '', /^authorization: required: .*PROXMOXVNC_AUTHORIZATION.*openssl rand -hex 32/);
  });

  it('asks for tls_key_file when only tls_cert_file is set', () => {
    const cert = join(dir, 'cert.pem');
    writeFileSync(cert, CA_PEM);
    assert.deepEqual(problems({ file: writeConfig({ authorization: SECRET, tls_cert_file: cert }) }), [
      'tls_key_file: tls_cert_file and tls_key_file go together: set both or neither',
    ]);
  });

  it('refuses a public_url that is not a bare http(s) origin', () => {
    for (const url of ['console.example.com', 'ftp://console.example.com', 'https://console.example.com/vnc', 'https://console.example.com?x=1', 'https://u:p@console.example.com']) {
      const found = problems({ env: { PROXMOXVNC_AUTHORIZATION: SECRET, PROXMOXVNC_PUBLIC_URL: url } });
      assert.equal(found.length, 1, url);
      assert.match(found[0] ?? '', /^public_url: must be an absolute http\(s\) URL/, url);
    }
  });

  it('refuses a session_ports range that holds the router port', () => {
    assert.deepEqual(problems({ file: writeConfig({ authorization: SECRET, router_port: 10005, session_ports: { from: 10000, to: 10010 } }) }), [
      'session_ports: must not include router_port (10005)',
    ]);
  });

  it('names a missing file', () => {
    const missing = join(dir, 'nope.json');
    assert.deepEqual(problems({ file: missing }), [`config file ${missing}: cannot read it (no such file)`]);
  });

  it('names the line and column of invalid JSON without quoting the file', () => {
    const file = writeConfig(`{\n  "authorization": "${SECRET}",\n  "router_port": 9999,,\n}`);
    const found = problems({ file });
    assert.equal(found.length, 1);
    assert.match(found[0] ?? '', new RegExp(`^config file ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: invalid JSON: .* at line 3, column 23$`));
    assert.ok(!found[0]?.includes(SECRET.slice(0, 8)));
  });

  it('does not quote the text around a bad token, which may be the secret', () => {
    // V8 quotes about ten characters on each side of such a token.
    const file = writeConfig(`{"logging_enabled": tru, "authorization": "${SECRET}"}`);
    assert.deepEqual(problems({ file }), [`config file ${file}: invalid JSON: Unexpected token ','`]);
  });

  it('refuses a file that is not a JSON object', () => {
    assert.match(problems({ file: writeConfig('[1, 2]') })[0] ?? '', /must hold a JSON object/);
  });

  it('wants numbers in the file to be JSON numbers', () => {
    assert.deepEqual(problems({ file: writeConfig({ authorization: SECRET, router_port: '9999' }) }), ['router_port: must be a whole number from 0 to 65535']);
  });
});

describe('files named by the config', () => {
  it('reads proxmox_ca_file at load', () => {
    const ca = join(dir, 'ca.pem');
    writeFileSync(ca, CA_PEM);
    assert.equal(loaded({ file: writeConfig({ authorization: SECRET, proxmox_ca_file: ca }) }).config.proxmox_ca_pem, CA_PEM);
  });

  it('reports an unreadable or non-PEM proxmox_ca_file', () => {
    const notPem = join(dir, 'not-pem.txt');
    writeFileSync(notPem, 'hello');
    assert.deepEqual(problems({ file: writeConfig({ authorization: SECRET, proxmox_ca_file: join(dir, 'absent.pem') }) }), [
      `proxmox_ca_file: cannot read ${join(dir, 'absent.pem')} (no such file)`,
    ]);
    assert.deepEqual(problems({ file: writeConfig({ authorization: SECRET, proxmox_ca_file: notPem }) }), [`proxmox_ca_file: ${notPem} holds no PEM data`]);
  });
});

describe('warnings', () => {
  it('warns about unknown fields and suggests the closest known one', () => {
    const file = writeConfig({ authorization: SECRET, autorization: 'x', router_prot: 1, completely_different_thing: 1 });
    const { warnings } = loaded({ file });
    assert.ok(warnings.includes(`unknown field "autorization" in ${file} (ignored); did you mean "authorization"?`), warnings.join('\n'));
    assert.ok(warnings.includes(`unknown field "router_prot" in ${file} (ignored); did you mean "router_port"?`), warnings.join('\n'));
    assert.ok(warnings.includes(`unknown field "completely_different_thing" in ${file} (ignored)`), warnings.join('\n'));
  });

  it('warns that TLS verification to Proxmox is off', () => {
    const { warnings } = loaded({
      env: { PROXMOXVNC_AUTHORIZATION: SECRET, PROXMOXVNC_PROXMOX_TLS_INSECURE: '1', PROXMOXVNC_PUBLIC_HOST: 'gw.example.com', PROXMOXVNC_PROXMOX_HOSTS_ALLOWED: '10.0.0.0/24' },
    });
    assert.deepEqual(warnings, ['proxmox_tls_insecure is on: TLS certificates of Proxmox hosts are NOT verified']);
  });

  it('warns when console URLs can only guess the public address', () => {
    const { warnings } = loaded({ env: { PROXMOXVNC_AUTHORIZATION: SECRET, PROXMOXVNC_PROXMOX_HOSTS_ALLOWED: 'pve.example.com' } });
    assert.deepEqual(warnings, ['no public_url, public_host or public_ip: console URLs will use http://localhost:9999']);
  });

  it('warns when the backend may aim the gateway at any host', () => {
    const { warnings } = loaded({ env: { PROXMOXVNC_AUTHORIZATION: SECRET, PROXMOXVNC_PUBLIC_HOST: 'gw.example.com' } });
    assert.deepEqual(warnings, ['proxmox_hosts_allowed is empty: the backend may point the gateway at any host and port (list your Proxmox hosts or their CIDR ranges)']);
  });
});
