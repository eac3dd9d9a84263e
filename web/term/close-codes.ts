// Websocket close codes the gateway uses to tell the page why there is no console
// (src/console/socket.ts, src/console/term/bridge.ts). The end of the session (4000) needs no
// code of its own here: the supervisor's session check finds and shows it.

/** The session has its maximum of viewers. */
export const VIEWER_LIMIT = 4001;
/** The console could not be opened; the close reason is meant for the user. */
export const CONSOLE_UNAVAILABLE = 4002;

export const VIEWER_LIMIT_MESSAGE = 'This console is already open in as many windows as allowed. Close one of them, then retry.';
export const UNAVAILABLE_MESSAGE = 'The console could not be opened.';
