import { hasPrivilege } from '../auth/permissions.js';
import type { Route } from '../http/route.js';
import { resourceEntry } from './guests.js';

const resources: Route = {
  name: 'cluster.resources',
  method: 'GET',
  path: /^\/cluster\/resources$/,
  authenticated: true,
  params: { type: { type: 'enum', values: ['vm', 'storage', 'node', 'sdn'], optional: true } },
  handle({ state, identity, params }) {
    const self = identity!;
    const out: Record<string, unknown>[] = [];
    // Each caller sees only what it may audit.
    if (params.type === undefined || params.type === 'vm') {
      for (const guest of state.inventory.guests) {
        if (hasPrivilege(self, `/vms/${guest.vmid}`, 'VM.Audit')) out.push(resourceEntry(guest));
      }
    }
    if (params.type === undefined || params.type === 'node') {
      for (const node of state.inventory.nodes) {
        if (hasPrivilege(self, `/nodes/${node}`, 'Sys.Audit')) out.push({ id: `node/${node}`, type: 'node', node, status: 'online' });
      }
    }
    return out;
  },
};

export const clusterRoutes: Route[] = [resources];
