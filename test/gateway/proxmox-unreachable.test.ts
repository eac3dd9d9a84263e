// Issue 12, finding 8: /create must not tell the backend which ports of a host are open.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createToken, freePort, startTestGateway, type TestGateway } from '../helpers/gateway.js';

describe('a Proxmox host that cannot be reached', () => {
  let tg: TestGateway;
  const plainHttp = createServer((_request, response) => response.end('not Proxmox'));
  before(async () => {
    tg = await startTestGateway();
    await new Promise<void>((resolve) => plainHttp.listen(0, '127.0.0.2', resolve));
  });
  after(async () => {
    await tg?.stop();
    plainHttp.close();
  });

  it('answers the same for a closed port and a port that does not speak TLS, with the detail in the log only', async () => {
    const params = { hostname: '127.0.0.2', node: 'pve1', vmid: 100, username: 'vncuser@pve', password: 'vncpass' };
    const closedPort = await freePort('127.0.0.2');
    const httpPort = (plainHttp.address() as AddressInfo).port;
    const closed = await createToken(tg, { ...params, port: closedPort });
    const notTls = await createToken(tg, { ...params, port: httpPort });
    for (const answer of [closed, notTls]) {
      assert.equal(answer.statusCode, 502);
      assert.equal(answer.body.error, 'proxmox_unreachable');
    }
    const shape = (answer: typeof closed, port: number) => String(answer.body.message).replace(String(port), 'PORT');
    assert.equal(shape(closed, closedPort), shape(notTls, httpPort));
    assert.ok(tg.logs.some((line) => line.includes('console check failed') && line.includes('ECONNREFUSED')), 'the log says why');
    assert.ok(tg.logs.some((line) => line.includes('console check failed') && /ERR_SSL|EPROTO/.test(line)), 'the log says why');
  });
});
