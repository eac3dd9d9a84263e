export interface SessionEndpoints {
  websocket: string;
  state: string;
  /** POST <power>/<action> */
  power: string;
}

/**
 * The session's URLs on the page's own origin. A reverse proxy may mount the gateway under a path
 * prefix, so whatever precedes `/console/<id>/` in the page's path is kept.
 */
export function sessionEndpoints(sessionId: string, where: Location = location): SessionEndpoints {
  const marker = `/console/${encodeURIComponent(sessionId)}/`;
  const at = where.pathname.indexOf(marker);
  const base = (at > 0 ? where.pathname.slice(0, at) : '') + marker;
  const wsScheme = where.protocol === 'https:' ? 'wss:' : 'ws:';
  return {
    websocket: `${wsScheme}//${where.host}${base}websocket`,
    state: `${where.protocol}//${where.host}${base}state`,
    power: `${where.protocol}//${where.host}${base}power`,
  };
}
