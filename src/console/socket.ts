import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { fastifyCookie } from '@fastify/cookie';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../log.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { isProxmoxError } from '../proxmox/errors.js';
import { StoreUnavailableError } from '../redis/errors.js';
import { LogThrottle } from '../security/log-throttle.js';
import { detached } from '../detached.js';
import type { SessionActivityBuffer } from '../sessions/activity-buffer.js';
import type { ConsoleService } from '../sessions/console-service.js';
import type { ClientInfo, ConsoleEvents, ViewerInfo } from '../sessions/events.js';
import type { LocalViewers, Viewer } from '../sessions/local-viewers.js';
import { sessionTitle, type SessionRecord, type ViewerAccess } from '../sessions/record.js';
import { ViewerLimitError, type AuthenticatedSession, type SessionStore } from '../sessions/store.js';
import { TOKEN_PATTERN } from '../tokens/token.js';
import { SESSION_ENDED_CLOSE_CODE } from '../sessions/local-viewers.js';
import { MessageBudget } from './message-budget.js';
import { SESSION_COOKIE } from './session-cookie.js';
import { runTermBridge } from './term/bridge.js';
import type { SharedTerminals, TermViewer } from './term/shared-terminal.js';
import type { Recorders, TermRecorder } from '../recordings/recorders.js';
import { runVncBridge } from './vnc-bridge.js';

/** Browser messages are keystrokes, pointer moves and small requests; a paste is typed as keys. */
const MAX_BROWSER_MESSAGE = 256 * 1024;
const SOCKET_PATH = /^\/console\/([^/?#]+)\/websocket(?:\?.*)?$/;
/** Close code the page reads as "too many viewers": do not retry in a loop. */
export const VIEWER_LIMIT_CLOSE_CODE = 4001;
/** RFC 6455 "try again later": nothing is wrong with the session, the gateway could not check it now. */
const TRY_AGAIN_LATER_CLOSE_CODE = 1013;

export interface ConsoleSocketDeps {
  log: Logger;
  metrics: GatewayMetrics;
  sessions: SessionStore;
  viewers: LocalViewers;
  activity: SessionActivityBuffer;
  access: ConsoleService;
  /** The text consoles' shared terminals of this process, by session. */
  terminals: SharedTerminals;
  /** With `recording_dir`: records each viewer connection of the sessions that asked for `record`. */
  recorders?: Recorders;
  /** Origins a console page may be served from: the public origin and `allowed_origins`. */
  allowedOrigins: Set<string>;
  /** Told of each viewer joining and leaving (webhooks); shared links' viewers come through here too. */
  events?: ConsoleEvents;
  /** The browser's address behind `trust_proxy` (the socket's peer without it). */
  clientAddress?(request: IncomingMessage): string;
  handshakeTimeoutMs: number;
  /** The longest clipboard text a browser may send (RFB ClientCutText). */
  clipboardMaxBytes: number;
  /** Websocket messages a browser may send per second before it is cut off (1008). */
  browserMessagesPerSecond: number;
  /** Whether a connection that came in on `localPort` may reach the session (session_ports: only on its own). */
  servesHere(localPort: number | undefined, sessionId: string): boolean;
}

/** How long a viewer over the limit waits for a leave that is on its way (a reload's old socket). */
const LEAVE_WAIT_MS = 1_000;
const LEAVE_POLL_MS = 100;

/**
 * Joins the session's viewers. A reload closes the old socket just before the new one opens, and
 * the old viewer's leave is recorded a moment after its close: refusing the new viewer then would
 * show a final "too many windows" for a plain reload, so a full session is asked again for a second.
 */
async function joinAllowingALeave(sessions: SessionStore, id: string, access: ViewerAccess, gone: () => boolean): Promise<SessionRecord | null> {
  const deadline = Date.now() + LEAVE_WAIT_MS;
  for (;;) {
    try {
      return await sessions.join(id, access);
    } catch (error) {
      if (!(error instanceof ViewerLimitError) || Date.now() >= deadline || gone()) throw error;
      await new Promise((resolve) => setTimeout(resolve, LEAVE_POLL_MS));
    }
  }
}

/** A text console viewer whose output, from the terminal's being ready on, is also recorded. */
function recordedTermViewer(viewer: TermViewer, begin: () => TermRecorder): TermViewer {
  let recorder: TermRecorder | undefined;
  return {
    ready: () => {
      recorder = begin();
      viewer.ready();
    },
    output: (bytes, written) => {
      recorder?.output(bytes);
      viewer.output(bytes, written);
    },
    ended: (end) => viewer.ended(end),
  };
}

/** Answers a refused upgrade and closes the socket: nothing more is read from it. */
function refuse(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, () => socket.destroy());
}

/** The console websocket: only for the browser holding the session's cookie, from an allowed origin. */
export function attachConsoleSockets(server: Server, deps: ConsoleSocketDeps): { close(): void } {
  const log = deps.log.child('CONSOLE');
  const refusalLog = new LogThrottle();
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_BROWSER_MESSAGE, perMessageDeflate: false });

  const accept = async (request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    const id = SOCKET_PATH.exec(request.url ?? '')?.[1];
    if (id === undefined || !TOKEN_PATTERN.test(id) || !deps.servesHere(request.socket.localPort, id)) return refuse(socket, 404, 'Not Found');
    const origin = request.headers.origin;
    if (origin === undefined || !deps.allowedOrigins.has(origin)) {
      const client = request.socket.remoteAddress ?? '';
      const held = refusalLog.admit(client);
      if (held !== null) {
        log.warn('websocket from a foreign origin refused', { session: id, origin: origin ?? '(none)', client, ...(held > 0 ? { held_back: held } : {}) });
      }
      return refuse(socket, 403, 'Forbidden');
    }
    const cookies = fastifyCookie.parse(request.headers.cookie ?? '');
    const session = await deps.sessions.authenticate(id, cookies[SESSION_COOKIE]);
    if (!session) return refuse(socket, 403, 'Forbidden');
    if (socket.destroyed) return;
    const client: ClientInfo = { address: deps.clientAddress?.(request) ?? request.socket.remoteAddress ?? '', ...(request.headers['user-agent'] !== undefined ? { userAgent: request.headers['user-agent'] } : {}) };
    wss.handleUpgrade(request, socket, head, (ws) => void serveViewer(session, ws, client));
  };

  /** `session` as the browser's cookie opened it: its access (a shared link's may be view-only) holds for this viewer. */
  const serveViewer = async (session: AuthenticatedSession, ws: WebSocket, client: ClientInfo): Promise<void> => {
    const sessionLog = log.child('CONSOLE', { session: session.id });
    const viewer: Viewer = { close: (code, reason) => ws.close(code, reason) };
    let joined: SessionRecord | null;
    try {
      joined = await joinAllowingALeave(deps.sessions, session.id, session.access, () => ws.readyState !== ws.OPEN);
    } catch (error) {
      if (error instanceof ViewerLimitError) {
        sessionLog.warn('viewer refused', { reason: error.message });
        ws.close(VIEWER_LIMIT_CLOSE_CODE, 'too many viewers');
        return;
      }
      // The store could not be asked (Redis away): the page reconnects once it can.
      sessionLog.warn('viewer refused: the session store failed', { error });
      ws.close(TRY_AGAIN_LATER_CLOSE_CODE, 'try again later');
      return;
    }
    if (!joined) {
      ws.close(SESSION_ENDED_CLOSE_CODE, 'session ended');
      return;
    }
    deps.viewers.add(session.id, viewer);
    sessionLog.info('viewer connected', { viewers: Object.values(joined.viewers).reduce((a, b) => a + b, 0) });
    const openedAt = Date.now();
    const watched: ViewerInfo = { id: randomBytes(6).toString('hex'), client, viewOnly: session.access.viewOnly, link: session.access.link, shared: session.access.shared };
    deps.events?.viewerConnected(joined, watched);
    // This connection's share of what the session's activity counts, told when it leaves.
    const used = { toBrowser: 0, toUpstream: 0, reason: 'error' };
    // A browser that leaves while its console is being opened cancels what is left of the opening.
    const opening = new AbortController();
    ws.once('close', () => opening.abort());
    let title = sessionTitle(joined);
    const common = {
      handshakeTimeoutMs: deps.handshakeTimeoutMs,
      budget: new MessageBudget(deps.browserMessagesPerSecond),
      log: sessionLog,
      onFirstFrame: () => {
        const ms = Date.now() - openedAt;
        deps.metrics.firstFrameSeconds.observe(ms / 1000);
        sessionLog.debug('first frame relayed', { ms });
      },
      onInput: () => deps.activity.input(session.id),
      onBytes: (toBrowser: number, toUpstream: number) => {
        deps.activity.bytes(session.id, toBrowser, toUpstream);
        used.toBrowser += toBrowser;
        used.toUpstream += toUpstream;
        if (toBrowser > 0) deps.metrics.toBrowser.inc(toBrowser);
        if (toUpstream > 0) deps.metrics.toProxmox.inc(toUpstream);
      },
    };
    const recorders = joined.grant.record ? deps.recorders : undefined;
    const subject = { sessionId: session.id, vmid: joined.grant.vmid, ...(joined.grant.node ? { node: joined.grant.node } : {}), ...(joined.grant.tag !== undefined ? { tag: joined.grant.tag } : {}) };
    let finishRecording: (() => Promise<void>) | undefined;
    const recorded = <R extends { finish(): Promise<void> }>(recorder: R): R => {
      finishRecording = () => recorder.finish();
      return recorder;
    };
    try {
      const outcome =
        joined.grant.console === 'xterm'
          ? await runTermBridge(ws, {
              ...common,
              // The session's viewers here share one terminal; it opens with the first of them.
              join: (termViewer, options) =>
                deps.terminals.join(
                  session.id,
                  `${joined.grant.target.hostname}|${joined.grant.target.port}|${joined.grant.vmid}`,
                  (signal) => deps.access.openTermUpstream(joined, signal),
                  recorders ? recordedTermViewer(termViewer, () => recorded(recorders.term(subject, sessionTitle(joined)))) : termViewer,
                  options,
                ),
              viewOnly: session.access.viewOnly,
            })
          : await runVncBridge(ws, {
              ...common,
              openUpstream: async () => {
                const upstream = await deps.access.openVncUpstream(joined, opening.signal);
                title = upstream.title;
                return upstream;
              },
              // Read once the upstream is open: opening it may be what first learns the guest's name.
              title: () => title,
              clipboardMaxBytes: deps.clipboardMaxBytes,
              viewOnly: session.access.viewOnly,
              ...(recorders ? { record: (serverInit: Buffer) => recorded(recorders.vnc(subject, serverInit)) } : {}),
            });
      // The operator sees in /status why a viewer got no console (e.g. xterm_requires_password).
      if (outcome.reason === 'upstream_failed' && isProxmoxError(outcome.error)) {
        const code = outcome.error.code;
        deps.metrics.proxmoxErrors.labels(code).inc();
        detached(sessionLog, 'recording the console error', () => deps.sessions.setLastError(session.id, code));
      }
      used.reason = outcome.reason;
      sessionLog.info('viewer disconnected', { reason: outcome.reason, ...(outcome.error ? { error: outcome.error } : {}) });
    } catch (error) {
      sessionLog.error('console relay failed', { error });
      ws.terminate();
    } finally {
      if (finishRecording) detached(sessionLog, 'finishing the recording', finishRecording);
      deps.viewers.remove(session.id, viewer);
      deps.events?.viewerDisconnected(joined, watched, { bytesToBrowser: used.toBrowser, bytesToUpstream: used.toUpstream, durationMs: Date.now() - openedAt, reason: used.reason });
      detached(sessionLog, 'leaving the session', async () => {
        await deps.activity.flush(session.id);
        await deps.sessions.leave(session.id, session.access);
      });
    }
  };

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    accept(request, socket, head).catch((error: Error) => {
      if (error instanceof StoreUnavailableError) {
        log.warn('websocket refused: the shared store is unreachable', { error });
        return refuse(socket, 503, 'Service Unavailable');
      }
      log.error('websocket upgrade failed', { error });
      refuse(socket, 500, 'Internal Server Error');
    });
  };
  server.on('upgrade', onUpgrade);
  return {
    close() {
      server.off('upgrade', onUpgrade);
      for (const client of wss.clients) client.terminate();
      wss.close();
    },
  };
}
