import type { Route } from '../http/route.js';
import { accessRoutes } from './access.js';
import { clusterRoutes } from './cluster.js';
import { consoleRoutes } from './console.js';
import { guestRoutes } from './guests.js';
import { guestPowerRoutes } from './power.js';
import { termproxyRoutes } from './termproxy.js';

/** Every API route the simulator serves; anything else is 501, as on a real node. */
export const apiRoutes: Route[] = [...accessRoutes, ...clusterRoutes, ...guestRoutes, ...guestPowerRoutes, ...consoleRoutes, ...termproxyRoutes];
