import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from 'node:tls';
import { request } from 'node:https';

// Next to this test: sim/cli.ts under tsx, dist/sim/cli.js once compiled.
const cli = fileURLToPath(new URL(`../../sim/cli.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url));

function runCli(args: string[]) {
  const child = spawn(process.execPath, [...process.execArgv, cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, output: () => ({ stdout, stderr }) };
}

describe('proxmoxvnc-sim command', () => {
  it('prints its usage with --help and refuses unknown flags', async () => {
    const help = runCli(['--help']);
    assert.equal(await help.exited, 0);
    assert.match(help.output().stdout, /--inventory FILE/);
    const bad = runCli(['--no-such-flag']);
    assert.equal(await bad.exited, 2);
    assert.match(bad.output().stderr, /no-such-flag/);
  });

  it('serves HTTPS with the fingerprint it prints and the CA it writes, and stops on SIGTERM', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sim-cli-'));
    const caFile = join(dir, 'ca.pem');
    const run = runCli(['--host', '127.0.0.1', '--port', '0', '--ca-out', caFile, '--duration', 'loginFailureDelayMs=10']);
    try {
      const deadline = Date.now() + 20_000;
      while (!/fingerprint/.test(run.output().stdout) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const { stdout } = run.output();
      const url = /listening on (https:\/\/127\.0\.0\.1:(\d+))\/api2\/json/.exec(stdout);
      const fingerprint = /fingerprint \(SHA-256\): ([0-9A-F:]+)/.exec(stdout);
      assert.ok(url && fingerprint, stdout + run.output().stderr);
      const port = Number(url[2]);
      const ca = await readFile(caFile, 'utf8');

      const served = await new Promise<string>((resolve, reject) => {
        const socket = connect({ host: '127.0.0.1', port, ca }, () => {
          resolve(socket.getPeerCertificate().fingerprint256);
          socket.destroy();
        });
        socket.on('error', reject);
      });
      assert.equal(served, fingerprint[1]);

      const status = await new Promise<number>((resolve, reject) => {
        const body = 'username=vncuser%40pve&password=vncpass';
        const req = request(
          { host: '127.0.0.1', port, method: 'POST', path: '/api2/json/access/ticket', ca, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end(body);
      });
      assert.equal(status, 200);

      run.child.kill('SIGTERM');
      assert.equal(await run.exited, 0);
    } finally {
      run.child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });
});
