import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger, type LogOptions } from '../../src/log.js';

const TICKET = 'PVE:vncuser@pve:66BF2A1C::M2Vm5dXh8e0VvQ9Bz7N1qkz+7E/hXr8yPqlvZc3Y9q0pTgGZpS4wQ==';
const VNC_TICKET = 'PVEVNC:66BF2A1C::a2Vm5dXh8e0VvQ9Bz7N1qkz+7E/hXr8yPqlvZc3Y9q0pTgGZpS4wQ==';
const VNC_PASSWORD = 'K&4#:B+Q';
const CSRF = '66BF2A1C:Yq3Vx0a7m1Hc9ZkP2sR6tWb8nJf4uLd5eGh0iOp1QrS';
const API_SECRET = '0b8f2a6e-51c4-4d3e-9a7b-2f6c1d8e4a90';

function logLines(format: LogOptions['format'], log: (logger: ReturnType<typeof createLogger>) => void): string {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  log(createLogger({ enabled: true, level: 'debug', format }, sink).child('PROXMOX', { session: 's1' }));
  return chunks.join('');
}

for (const format of ['text', 'json'] as const) {
  describe(`redaction (${format})`, () => {
    it('replaces secret fields by name, at any depth and in any letter case', () => {
      const out = logLines(format, (log) =>
        log.info('login', {
          password: 'hunter2-pw',
          request: { headers: { Cookie: 'PVEAuthCookie=ck-0', Authorization: 'Bearer ctl-secret-1', CSRFPreventionToken: 'x1' } },
          answer: [{ ticket: 'tkt-1', vncticket: 'vt-2', vncPassword: 'vp-3' }],
          api_token: 'root@pam!ci=tok-4',
          proxmox_password: 'pw-5',
          Secret: 'sec-6',
          token: 'full-token-7',
          pending_tokens: 3,
          token_prefix: 'abcdef…',
        }),
      );
      for (const secret of ['hunter2-pw', 'ck-0', 'ctl-secret-1', 'x1', 'tkt-1', 'vt-2', 'vp-3', 'tok-4', 'pw-5', 'sec-6', 'full-token-7']) {
        assert.ok(!out.includes(secret), `${secret} leaked: ${out}`);
      }
      assert.ok(out.includes('[redacted]'));
      // Names that only contain a secret word are kept: they hold counts and safe prefixes.
      assert.match(out, /pending_tokens"?[=:]3/);
      assert.ok(out.includes('abcdef…'));
    });

    it('scrubs secrets that look like Proxmox credentials from the message and string fields', () => {
      const out = logLines(format, (log) =>
        log.error(`vncwebsocket failed for vncticket=${encodeURIComponent(`${VNC_PASSWORD}:${VNC_TICKET}`)}&port=5900 with ticket ${TICKET}`, {
          detail: `Cookie: PVEAuthCookie=${encodeURIComponent(TICKET)}; CSRFPreventionToken: ${CSRF}`,
          header: `PVEAPIToken=vncuser@pve!console=${API_SECRET}`,
          params: `api token vncuser@pve!console=${API_SECRET} given`,
          vnc: `${VNC_PASSWORD}:${VNC_TICKET}`,
        }),
      );
      const forbidden = [TICKET, VNC_TICKET, CSRF, API_SECRET, VNC_PASSWORD, encodeURIComponent(VNC_PASSWORD), 'M2Vm5dXh8e0', 'a2Vm5dXh8e0', 'Yq3Vx0a7'];
      for (const secret of forbidden) assert.ok(!out.includes(secret), `${secret} leaked: ${out}`);
      // What helps an operator stays.
      assert.ok(out.includes('vncwebsocket failed'));
      assert.ok(out.includes('port=5900'));
      assert.ok(out.includes('vncuser@pve!console'), 'the API token id is kept, only its secret goes');
    });

    it('leaves ordinary text alone', () => {
      const out = logLines(format, (log) => log.info('PVE: node pve1 answered 200 in 12 ms', { node: 'pve1', url: 'https://10.0.0.5:8006/api2/json' }));
      assert.ok(out.includes('PVE: node pve1 answered 200 in 12 ms'));
      assert.ok(out.includes('https://10.0.0.5:8006/api2/json'));
    });

    it('survives circular fields', () => {
      const loop: Record<string, unknown> = { name: 'a' };
      loop.self = loop;
      const out = logLines(format, (log) => log.info('loop', { loop }));
      assert.ok(out.includes('[circular]'));
    });
  });
}
