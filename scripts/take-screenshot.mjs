// Regenerates docs/console.png: a real gateway session on a real QEMU guest (via the simulator), in Chromium.
// Run after `npm run build`: node scripts/take-screenshot.mjs
import { startSimulator } from '../dist/sim/index.js';
import { createToken, startTestGateway } from '../dist/test/helpers/gateway.js';
import { launchChromium } from '../dist/test/helpers/browser.js';

const sim = await startSimulator({ host: '127.0.0.2', port: 0, backend: 'qemu' });
const tg = await startTestGateway({}, sim.caPem);
const browser = await launchChromium();
try {
  const created = await createToken(tg, {
    hostname: '127.0.0.2', port: sim.port, node: 'pve1', username: 'vncuser@pve', password: 'vncpass', vmid: 100,
  });
  if (created.statusCode !== 200) throw new Error(JSON.stringify(created.body));
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(created.body.url);
  // SeaBIOS needs a few seconds of emulated boot to print its last line.
  await page.waitForTimeout(6000);
  await page.screenshot({ path: 'docs/console.png' });
  console.log('wrote docs/console.png');
} finally {
  await browser.close();
  await tg.stop();
  await sim.stop();
}
