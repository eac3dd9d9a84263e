import assert from 'node:assert/strict';
import { test } from 'node:test';
import { frameTargetOrigin } from '../../src/console/frame-origin.js';

const OWN = 'https://console.example.com';

test('a framed page posts to its parent only when frame_ancestors allows that origin, named exactly', () => {
  assert.equal(frameTargetOrigin(['https://panel.example.com'], OWN, 'https://panel.example.com'), 'https://panel.example.com');
  assert.equal(frameTargetOrigin(['https://panel.example.com'], OWN, 'https://evil.example.net'), null);
  assert.equal(frameTargetOrigin(['https://*.example.org'], OWN, 'https://a.example.org'), 'https://a.example.org');
  assert.equal(frameTargetOrigin(['https://*.example.org'], OWN, 'http://a.example.org'), null);
  assert.equal(frameTargetOrigin(['https://*.example.org'], OWN, 'https://example.org'), null);
  assert.equal(frameTargetOrigin(["'self'"], OWN, OWN), OWN);
  assert.equal(frameTargetOrigin([], OWN, 'https://panel.example.com'), null);
});

test('without the parent origin from the browser, only a single exactly named ancestor is assumed', () => {
  assert.equal(frameTargetOrigin(['https://panel.example.com'], OWN, undefined), 'https://panel.example.com');
  assert.equal(frameTargetOrigin(['https://a.example.com', 'https://b.example.com'], OWN, undefined), null);
  assert.equal(frameTargetOrigin(['https://*.example.com'], OWN, undefined), null);
});
