import type { SessionSummary } from '../sessions/record.js';

/** Durations as the original program printed them (Go's time.Duration String), e.g. "1h2m3.5s". */
export function goDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const totalSeconds = ms / 1000;
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = Number((totalSeconds % 60).toFixed(3));
  return `${hours > 0 ? `${hours}h` : ''}${hours > 0 || minutes > 0 ? `${minutes}m` : ''}${seconds}s`;
}

export interface StatusContext {
  /** The origin and port a session's console is served on (its own with `session_ports`). */
  servedAt(sessionId: string): { origin: string; port: number };
  now: number;
}

/** One entry of `/status` in the original's shape, plus fields of ours; never a credential. */
export function statusEntry(s: SessionSummary, ctx: StatusContext): Record<string, unknown> {
  const served = ctx.servedAt(s.id);
  return {
    key: `${s.id}:${s.node ?? ''}:${s.vmid}`,
    session_id: s.id,
    url: `${served.origin}/console/${s.id}/`,
    node: s.node ?? '',
    vmid: String(s.vmid),
    created_at: new Date(s.createdAt).toISOString(),
    ...(s.connectedAt !== undefined
      ? {
          connected_at: new Date(s.connectedAt).toISOString(),
          connected_duration: goDuration(ctx.now - s.connectedAt),
        }
      : {}),
    port: served.port,
    status: s.state,
    age: goDuration(ctx.now - s.createdAt),
    token_prefix: s.tokenPrefix,
    type: s.type ?? null,
    console: s.console,
    tag: s.tag ?? null,
    recorded: s.recorded,
    viewers: s.viewers,
    view_only_viewers: s.viewersByLink.filter((v) => v.viewOnly).reduce((sum, v) => sum + v.viewers, 0),
    // Which link each viewer came with: the session's own, or a shared one (POST /sessions/<id>/links).
    viewers_by_link: s.viewersByLink.map((v) => ({ token_prefix: v.link, shared: v.shared, view_only: v.viewOnly, viewers: v.viewers })),
    replicas: s.replicas,
    bytes_to_browser: s.bytesToBrowser,
    bytes_to_proxmox: s.bytesToUpstream,
    last_error: s.lastError ?? null,
  };
}
