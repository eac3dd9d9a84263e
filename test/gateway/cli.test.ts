import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { redeem } from '../helpers/gateway.js';
import { listeningPort, spawnGateway, waitForOutput } from '../helpers/gateway-process.js';

describe('the proxmoxvnc command', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pvnc-cli-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints its version and help', async () => {
    const version = spawnGateway(['--version']);
    assert.equal(await version.exited, 0);
    assert.match(version.stdout.join(''), /^proxmoxvnc \d+\.\d+\.\d+/);
    const help = spawnGateway(['-h']);
    assert.equal(await help.exited, 0);
    assert.match(help.stdout.join(''), /-config FILE/);
  });

  it('refuses to start with a short secret and says how to make one (invariant 3)', async () => {
    const file = join(dir, 'short.json');
    await writeFile(file, JSON.stringify({ authorization: 'too-short', router_port: 'x' }));
    const run = spawnGateway(['-config', file]);
    assert.equal(await run.exited, 1);
    const stderr = run.stderr.join('');
    assert.match(stderr, /authorization: must be at least 32 characters; make one with: openssl rand -hex 32/);
    assert.match(stderr, /router_port/);
    assert.doesNotMatch(stderr, /too-short/);
  });

  it('runs from a config file, takes -port over it, and exits 0 on SIGTERM', async () => {
    const secret = randomBytes(32).toString('hex');
    const file = join(dir, 'config.json');
    await writeFile(file, JSON.stringify({ authorization: secret, router_ip: '127.0.0.1', router_port: 1, public_ip: '127.0.0.1', logging_level: 'DEBUG' }));
    // -port 0 over the file's 1: the gateway listens where the system puts it, and says where.
    const run = spawnGateway(['-config', file, '-port', '0']);
    try {
      await waitForOutput(run, /\[ROUTER\] \[INFO\] listening on 127\.0\.0\.1:\d+/);
      const port = await listeningPort(run);
      assert.notEqual(port, 1, '-port wins over the file');
      const status = await request(`http://127.0.0.1:${port}/status`, { headers: { authorization: secret } });
      assert.equal(status.statusCode, 200);
      assert.equal(((await status.body.json()) as { total_sessions: number }).total_sessions, 0);
    } finally {
      run.child.kill('SIGTERM');
    }
    assert.equal(await run.exited, 0);
    assert.ok(!run.stdout.join('').includes(secret), 'the secret is not logged');
  });

  it('takes its settings from the environment when there is no file', async () => {
    const run = spawnGateway([], {
      PROXMOXVNC_AUTHORIZATION: randomBytes(32).toString('hex'),
      PROXMOXVNC_ROUTER_IP: '127.0.0.1',
      PROXMOXVNC_ROUTER_PORT: '0',
      PROXMOXVNC_LOG_FORMAT: 'json',
    });
    try {
      await waitForOutput(run, /"component":"ROUTER".*listening/);
      const port = await listeningPort(run);
      const health = await request(`http://127.0.0.1:${port}/healthz`);
      assert.equal(health.statusCode, 200);
      await health.body.dump();
    } finally {
      run.child.kill('SIGTERM');
    }
    assert.equal(await run.exited, 0);
  });

  it('demo: prints a working console link and a curl line, and keeps the secret out of the logs', async () => {
    const run = spawnGateway(['demo', '--port', '0']);
    try {
      const [, link] = await waitForOutput(run, /(http:\/\/localhost:\d+\/vnc\/[A-Za-z0-9_-]+)/, 60_000);
      const [, secret] = await waitForOutput(run, /-H "Authorization: ([0-9a-f]+)"/);
      const opened = await redeem((link as string).replace('localhost', '127.0.0.1'));
      assert.equal(opened.statusCode, 302);
      const logs = run.stderr.join('');
      assert.ok(logs.length > 0, 'the demo logs to stderr');
      assert.ok(!logs.includes(secret as string) && !logs.includes((link as string).split('/vnc/')[1] as string));
    } finally {
      run.child.kill('SIGTERM');
    }
    assert.equal(await run.exited, 0);
  });
});
