// The xterm.js console page: a VM's serial port or a container's console filling the window,
// with the shared toolbar, connection state and reconnects.
import '@xterm/xterm/css/xterm.css';
import './shared/console.css';
import './term/term.css';
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import { buildChrome } from './shared/chrome.js';
import { toolbarButton, toolbarSeparator } from './shared/controls.js';
import { embedMessenger } from './shared/embedding.js';
import { sessionEndpoints } from './shared/endpoints.js';
import { fullscreenButton } from './shared/fullscreen.js';
import { t } from './shared/i18n.js';
import { keyBar, keyboardButton } from './shared/keybar.js';
import { StickyModifiers } from './shared/sticky.js';
import { readConsoleOptions } from './shared/options.js';
import { offerPower } from './shared/power.js';
import { settingsButton } from './shared/settings-dialog.js';
import { applyTheme, effectiveTheme, onSettings, settings } from './shared/settings.js';
import { ConnectionSupervisor, type ConsoleTransport } from './shared/supervisor.js';
import { terminalClipboard } from './term/clipboard.js';
import { allowScriptStyles } from './term/csp-styles.js';
import { barSequence, withModifiers } from './term/keys.js';
import { binaryInput, resizeMessage, textInput } from './term/protocol.js';
import { TERMINAL_FONT, TERMINAL_THEMES } from './term/theme.js';

const COPIED_FEEDBACK_MS = 1500;

const options = readConsoleOptions();
const endpoints = sessionEndpoints(options.sessionId);
const embed = embedMessenger(options.frameAncestors);
const chrome = buildChrome({ title: options.title, ...(options.brand ? { brand: options.brand } : {}), viewOnly: options.viewOnly, screenLabel: (title) => t('page.terminal', { title }), onTitle: embed.title });
chrome.screen.classList.add('term-screen');

allowScriptStyles(options.styleNonce);
const term = new Terminal({
  cursorBlink: !options.viewOnly,
  disableStdin: options.viewOnly,
  fontFamily: TERMINAL_FONT,
  fontSize: settings().fontSize,
  // At 1.0 the glyphs' descenders (underscores) fall outside the cell rows and are clipped.
  lineHeight: 1.15,
  scrollback: 5000,
  theme: TERMINAL_THEMES[effectiveTheme()],
});
const fit = new FitAddon();
term.loadAddon(fit);
term.open(chrome.screen);
fit.fit();
applyTheme((theme) => (term.options.theme = TERMINAL_THEMES[theme]));
onSettings((s) => {
  if (term.options.fontSize === s.fontSize) return;
  term.options.fontSize = s.fontSize;
  fit.fit();
});

let socket: WebSocket | null = null;
/** The gateway signals a logged-in terminal with its first (empty) message. */
let ready = false;

const send = (messages: Uint8Array[]): void => {
  if (!ready || socket?.readyState !== WebSocket.OPEN) return;
  for (const message of messages) socket.send(message);
};
const sendSize = (): void => send([resizeMessage(term.cols, term.rows)]);
const focusTerminal = (): void => term.focus();
const sticky = new StickyModifiers();

if (!options.viewOnly) {
  term.onData((data) => send(textInput(withModifiers(data, sticky.take()))));
  term.onBinary((data) => send(binaryInput(data)));
}
term.onResize(sendSize);
new ResizeObserver(() => fit.fit()).observe(chrome.screen);

const bar = options.viewOnly
  ? null
  : keyBar({
      // A terminal has no Windows key: Ctrl and Alt are what its programs read.
      modifiers: ['ctrl', 'alt'],
      sticky,
      press: (key) => send(textInput(barSequence(key, sticky.take(), term.modes.applicationCursorKeysMode))),
    });
if (bar) document.body.append(bar.root);

const clipboard = terminalClipboard(term, { canType: !options.viewOnly, refocus: focusTerminal });

const transport: ConsoleTransport = {
  open() {
    let ws: WebSocket;
    try {
      ws = new WebSocket(endpoints.websocket);
    } catch {
      // e.g. a websocket URL the browser refuses: treated like a failed connection.
      setTimeout(() => supervisor.closed({}), 0);
      return;
    }
    ws.binaryType = 'arraybuffer';
    socket = ws;
    ready = false;
    // Events of a connection the page has already replaced are stale and ignored.
    const isCurrent = (): boolean => socket === ws;
    ws.addEventListener('message', (event: MessageEvent<unknown>) => {
      if (!isCurrent() || !(event.data instanceof ArrayBuffer)) return;
      if (!ready) {
        ready = true;
        // The gateway replays the shared terminal's recent output to every connection: a
        // reconnect starts from a clean screen, or it would show that output twice.
        term.reset();
        supervisor.connected();
        sendSize();
        focusTerminal();
      }
      if (event.data.byteLength > 0) term.write(new Uint8Array(event.data));
    });
    ws.addEventListener('close', (event) => {
      if (!isCurrent()) return;
      socket = null;
      ready = false;
      supervisor.closed({ code: event.code, reason: event.reason });
    });
  },
  close() {
    const old = socket;
    socket = null;
    ready = false;
    old?.close(1000);
  },
};

const supervisor = new ConnectionSupervisor(transport, endpoints.state, chrome, embed.consoleEvent);

function copyButton(): HTMLButtonElement {
  const button = toolbarButton({ label: t('toolbar.copy'), icon: 'copy', hint: t('toolbar.copy.hint') });
  const label = button.querySelector('.tb-label');
  button.addEventListener('click', () => {
    void clipboard.copy().then((copied) => {
      if (copied && label) {
        label.textContent = t('toolbar.copied');
        setTimeout(() => (label.textContent = t('toolbar.copy')), COPIED_FEEDBACK_MS);
      }
      focusTerminal();
    });
  });
  return button;
}

function buildToolbar(): void {
  const controls: Array<HTMLElement | null> = [copyButton()];
  if (!options.viewOnly) {
    const paste = toolbarButton({ label: t('toolbar.paste'), icon: 'clipboard', hint: t('toolbar.term_paste.hint'), needsConnection: true });
    paste.addEventListener('click', () => void clipboard.paste());
    controls.push(paste);
    if (bar) controls.push(keyboardButton(bar, { focus: focusTerminal, blur: () => term.blur() }));
  }
  const power = offerPower(options.power, endpoints.power, { showToast: chrome.showToast, setGuestAction: (action) => supervisor.setGuestAction(action) }, focusTerminal);
  if (power) controls.push(power);
  const reconnect = toolbarButton({ label: t('toolbar.reconnect'), icon: 'refresh', iconOnly: true });
  reconnect.classList.add('tb-reconnect');
  reconnect.addEventListener('click', () => supervisor.start());
  controls.push(toolbarSeparator(), settingsButton(['fontSize', 'theme'], focusTerminal), fullscreenButton(focusTerminal), reconnect);
  chrome.controls.append(...controls.filter((c): c is HTMLElement => c !== null));
}

buildToolbar();
supervisor.start();
