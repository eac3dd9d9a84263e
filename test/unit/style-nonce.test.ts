import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CONSOLE_CSP } from '../../src/console/pages.js';
import { withStyleNonce } from '../../src/http/security-headers.js';

test("a style nonce joins style-src only; nothing else of the policy changes, and no 'unsafe-inline' appears", () => {
  const csp = CONSOLE_CSP(['https://panel.example.com']);
  const nonced = withStyleNonce(csp, 'abc+/==');
  assert.equal(nonced, csp.replace("style-src 'self'", "style-src 'self' 'nonce-abc+/=='"));
  assert.doesNotMatch(nonced, /unsafe-inline/);
});
