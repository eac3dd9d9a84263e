// /create's access check (checkConsoleAccess) against the simulator's /access/permissions, which
// answers as pve-access-control's API2/AccessControl.pm does:
//   my $perms = $rpcenv->permissions($userid, $path);
//   if ($perms) { $res = { $path => $perms }; } else { $res = {}; }
// RPCEnvironment's permissions() returns a hash even when it is empty, and an empty hash is true in
// Perl, so an identity without privileges gets `{"<path>": {}}`, not `{}`. "Permission denied" versus
// "guest not found" must be judged by the privileges under the path, whichever shape arrives.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { defaultInventory, startSimulator, type Release, type Simulator } from '../../sim/index.js';
import { ProxmoxClient, type ProxmoxCredentials } from '../../src/proxmox/client.js';
import { ProxmoxError } from '../../src/proxmox/errors.js';
import { checkConsoleAccess } from '../../src/proxmox/guest.js';

const NOBODY = { kind: 'password', username: 'nobody@pve', password: 'nopass' } as const;
const ELSEWHERE = { kind: 'password', username: 'elsewhere@pve', password: 'elsepass' } as const;
const VNCUSER: ProxmoxCredentials = { kind: 'apiToken', tokenId: 'vncuser@pve!console', secret: '11111111-2222-3333-4444-555555555555' };

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ProxmoxError, `expected a ProxmoxError, got ${String(err)}`);
    return err.code;
  }
  return 'ok';
}

for (const release of ['current', '7'] as Release[]) {
  describe(`checkConsoleAccess and the privileges under the path (release ${release})`, () => {
    let sim: Simulator;
    let client: ProxmoxClient;

    before(async () => {
      const inventory = defaultInventory();
      inventory.users.push(
        { userid: 'nobody@pve', password: 'nopass', acl: [], tokens: [] },
        { userid: 'elsewhere@pve', password: 'elsepass', acl: [{ path: '/vms/300', privileges: ['VM.Console', 'VM.Audit'], propagate: true }], tokens: [] },
      );
      sim = await startSimulator({ host: '127.0.0.2', port: 0, release, inventory, durations: { loginFailureDelayMs: 0 } });
      client = new ProxmoxClient({ hostname: sim.host, port: sim.port, fingerprint: sim.fingerprint }, { timeoutMs: 5_000 });
    });
    after(async () => {
      await client.close();
      await sim.stop();
    });

    test('an identity without privileges on the path is refused as permission_denied, not guest_not_found', async () => {
      const nobody = await client.login(NOBODY.username, NOBODY.password);
      assert.deepEqual(await client.permissions(nobody, '/vms/100'), {}, '{"/vms/100": {}} read as no privileges');
      assert.equal(await codeOf(checkConsoleAccess(client, NOBODY, { vmid: 100 })), 'permission_denied', 'an existing guest it may not see');
      assert.equal(await codeOf(checkConsoleAccess(client, NOBODY, { vmid: 999 })), 'permission_denied', 'a guest that does not exist either');
      assert.equal(await codeOf(checkConsoleAccess(client, ELSEWHERE, { vmid: 100 })), 'permission_denied', 'privileges on another guest only');
    });

    test('an identity with privileges on the path learns the guest is missing', async () => {
      assert.equal(await codeOf(checkConsoleAccess(client, VNCUSER, { vmid: 999 })), 'guest_not_found');
      assert.equal(await codeOf(checkConsoleAccess(client, ELSEWHERE, { vmid: 300 })), 'ok');
    });
  });
}
