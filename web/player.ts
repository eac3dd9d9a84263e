// The recording player: a VNC recording replayed through noVNC, an asciicast through xterm.js,
// with play, pause, seek and speed. Staff reach it through a one-time link of the backend's.
import '@xterm/xterm/css/xterm.css';
import './player/player.css';
import { el } from './shared/dom.js';
import { CastRenderer } from './player/cast-renderer.js';
import { Playback, type PlaybackState, type Renderer } from './player/playback.js';
import { readAsciicast, readVncRecording, type Timeline } from './player/recordings.js';
import { VncRenderer } from './player/vnc-renderer.js';
import { allowScriptStyles } from './term/csp-styles.js';

interface PlayerOptions {
  recording: { id: string; kind: 'vnc' | 'asciicast'; session_id: string; tag: string | null; vmid: number; started_at: string; duration: number; size: number; stopped?: string };
  fileUrl: string;
  styleNonce?: string;
}

const SPEEDS = [0.5, 1, 2, 4, 8, 16];

const options = JSON.parse(document.getElementById('player-options')?.textContent ?? '{}') as PlayerOptions;
const { recording } = options;

function clock(ms: number): string {
  const total = Math.floor(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

function sizeText(bytes: number): string {
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)}\u00a0KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)}\u00a0MiB`;
}

const facts = [
  `vmid ${recording.vmid}`,
  recording.tag ? `tag ${recording.tag}` : null,
  new Date(recording.started_at).toLocaleString(),
  recording.kind === 'vnc' ? 'graphical console' : 'text console',
  sizeText(recording.size),
].filter((fact): fact is string => fact !== null);
const notice = el('p', { class: 'player-notice', role: 'status' });
const header = el('header', { class: 'player-header' }, el('h1', {}, 'Session recording'), el('p', { class: 'player-facts' }, facts.join(' · ')), notice);
const screen = el('main', { class: `player-screen player-screen--${recording.kind}`, 'aria-label': 'Recorded screen' });
const playButton = el('button', { type: 'button', class: 'player-play', disabled: true }, 'Play');
const seekBar = el('input', { type: 'range', class: 'player-seek', min: '0', max: '0', step: '1', value: '0', 'aria-label': 'Position', disabled: true });
const time = el('span', { class: 'player-time', 'aria-live': 'off' }, '0:00 / 0:00');
const speed = el('select', { class: 'player-speed', 'aria-label': 'Speed' });
for (const factor of SPEEDS) speed.append(el('option', { value: String(factor), ...(factor === 1 ? { selected: true } : {}) }, `${factor}×`));
const controls = el('footer', { class: 'player-controls' }, playButton, seekBar, time, el('label', { class: 'player-speed-label' }, 'Speed ', speed));
document.body.append(header, screen, controls);
document.body.dataset.state = 'loading';

const showState = (position: number, state: PlaybackState, duration: number): void => {
  document.body.dataset.state = state;
  document.body.dataset.position = String(Math.round(position));
  playButton.textContent = state === 'playing' ? 'Pause' : state === 'ended' ? 'Replay' : 'Play';
  if (document.activeElement !== seekBar) seekBar.value = String(Math.round(position));
  time.textContent = `${clock(position)} / ${clock(duration)}`;
};

async function load(): Promise<void> {
  const answer = await fetch(options.fileUrl, { credentials: 'same-origin', cache: 'no-store' });
  if (!answer.ok) throw new Error(answer.status === 404 ? 'This recording is no longer available.' : `The recording could not be loaded (${answer.status}).`);
  const durationMs = recording.duration * 1000;
  let timeline: Timeline;
  let renderer: Renderer;
  if (recording.kind === 'vnc') {
    const vnc = readVncRecording(await answer.arrayBuffer(), durationMs);
    timeline = vnc;
    renderer = new VncRenderer(screen, vnc, (busy) => (document.body.dataset.rendering = busy ? 'busy' : 'idle'));
  } else {
    // xterm.js writes its measurements into <style> elements: they carry this answer's nonce.
    allowScriptStyles(options.styleNonce);
    const cast = readAsciicast(await answer.text(), durationMs);
    timeline = cast;
    renderer = new CastRenderer(screen, cast);
  }
  if (timeline.notes.length > 0 || recording.stopped) notice.textContent = timeline.notes.join(' ') || `Recording stopped early (${recording.stopped}).`;
  const playback = new Playback(timeline.times, timeline.durationMs, renderer, (position, state) => showState(position, state, timeline.durationMs));
  seekBar.max = String(Math.round(timeline.durationMs));
  seekBar.disabled = false;
  playButton.disabled = false;
  playButton.addEventListener('click', () => (playback.state === 'playing' ? playback.pause() : playback.play()));
  seekBar.addEventListener('input', () => playback.seek(Number(seekBar.value)));
  speed.addEventListener('change', () => playback.setSpeed(Number(speed.value)));
  document.addEventListener('keydown', (event) => {
    if (event.key !== ' ' || event.target instanceof HTMLSelectElement) return;
    event.preventDefault();
    if (playback.state === 'playing') playback.pause();
    else playback.play();
  });
}

load().catch((error: Error) => {
  document.body.dataset.state = 'error';
  notice.textContent = error.message;
});
