// The relayed-bytes counter: the relay adds plain numbers, a scrape shows every byte counted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GatewayMetrics } from '../../src/metrics/gateway-metrics.js';
import type { SessionStore } from '../../src/sessions/store.js';

const noSessions = { list: async () => [] } as unknown as SessionStore;

const relayed = (text: string, direction: string) => Number(new RegExp(`^proxmoxvnc_bytes_relayed_total\\{direction="${direction}"\\} (\\d+)$`, 'm').exec(text)?.[1]);

test('bytes relayed each way are all in the scrape, counted once, as they come', async () => {
  const metrics = new GatewayMetrics(noSessions);
  assert.doesNotMatch(await metrics.registry.metrics(), /direction="to_browser"/, 'no series before any byte');
  metrics.toBrowser.inc(5);
  metrics.toBrowser.inc(7);
  metrics.toProxmox.inc(3);
  let text = await metrics.registry.metrics();
  assert.equal(relayed(text, 'to_browser'), 12);
  assert.equal(relayed(text, 'to_proxmox'), 3);
  text = await metrics.registry.metrics();
  assert.equal(relayed(text, 'to_browser'), 12, 'a second scrape adds nothing');
  metrics.toBrowser.inc(1);
  text = await metrics.registry.metrics();
  assert.equal(relayed(text, 'to_browser'), 13);
  assert.equal(relayed(text, 'to_proxmox'), 3);
});
