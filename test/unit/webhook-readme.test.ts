// The README's signature check, run as the backend would run it: it accepts what the gateway
// signs and refuses a changed body, another secret, an old timestamp and a malformed header.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { transform } from 'esbuild';
import { signatureHeader } from '../../src/webhooks/signature.js';

type Verify = (secret: string, header: string | undefined, rawBody: string, toleranceSeconds?: number) => boolean;

async function readmeVerifier(): Promise<Verify> {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const block = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!).find((code) => code.includes('verifyProxmoxvncSignature'));
  assert.ok(block, 'the README shows verifyProxmoxvncSignature');
  const { code } = await transform(block, { loader: 'ts', format: 'esm' });
  const module = (await import(`data:text/javascript,${encodeURIComponent(code)}`)) as { verifyProxmoxvncSignature: Verify };
  return module.verifyProxmoxvncSignature;
}

describe("the README's webhook signature check", () => {
  it('accepts the gateway\'s signature and refuses everything else', async () => {
    const verify = await readmeVerifier();
    const secret = 'x'.repeat(40);
    const body = '{"id":"evt_1","type":"token.created","tag":"é"}';
    const now = Math.floor(Date.now() / 1000);
    const header = signatureHeader(secret, now, body);
    assert.equal(verify(secret, header, body), true);
    assert.equal(verify(secret, header, body.replace('token.created', 'token.revoked')), false, 'a changed body');
    assert.equal(verify('y'.repeat(40), header, body), false, 'another secret');
    assert.equal(verify(secret, signatureHeader(secret, now - 600, body), body), false, 'ten minutes old');
    assert.equal(verify(secret, signatureHeader(secret, now - 600, body), body, 3600), true, 'within a longer tolerance');
    for (const bad of [undefined, '', 't=1', `v1=${'0'.repeat(64)}`, `t=${now},v1=zz`, `t=${now},v1=${'0'.repeat(63)}`, `t=abc,v1=${'0'.repeat(64)}`]) {
      assert.equal(verify(secret, bad, body), false, String(bad));
    }
  });
});
