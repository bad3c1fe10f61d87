import { api } from '../api';
import { h, options } from '../dom';
import { formatSeconds, formatTimeSeconds } from '../format';
import { t, type MessageKey } from '../i18n';
import { isMine } from '../session';
import type { CallRecordDto, RecordingInfo, User, Waveform } from '../types';

const RATES = [0.75, 1, 1.25, 1.5, 2] as const;
const RATE_KEY = 'calltrack.playbackRate';
const STEP_SECONDS = 5;

/** `m:ss` of the whole second we are in (a clock, not a rounded duration: 6.9 s is still 0:06). */
export const clock = (seconds: number) => formatSeconds(Math.max(0, Math.floor(seconds)));

/** `1:07`, `0:07`, `7`, `1:02:03` → seconds; null when it is not a time. */
export function parseClock(text: string): number | null {
  const s = text.trim();
  if (!/^\d+(:\d{1,2}){0,2}$/.test(s)) return null;
  const parts = s.split(':').map(Number);
  if (parts.slice(1).some((p) => p > 59)) return null;
  return parts.reduce((acc, p) => acc * 60 + p, 0);
}

function storedRate(): number {
  const v = Number(localStorage.getItem(RATE_KEY));
  return (RATES as readonly number[]).includes(v) ? v : 1;
}

export interface Marker {
  atSeconds: number;
  label: string;
}

/**
 * The recording player of the review page: `<audio>` (seekable: the server answers Range requests),
 * the waveform (two lanes for a stereo recording: customer and agent), the call's legs on the same
 * timeline, comment markers, a playhead, speed control, keyboard (space, ←/→).
 *
 * Timeline origin: MixMonitor runs with the `b` option, so it records only while the call is
 * bridged: second 0 of the recording is taken to be the moment the call was answered
 * (`call.answeredAt`). Legs are placed relative to that; what happened before (ringing) or after
 * the recording ends is clipped. Hold or a transfer gap can make the recording shorter than the
 * talk time; the legs then run past the end (shown clipped) — an approximation, not a measurement.
 */
export class Player {
  readonly el: HTMLElement;
  readonly audio: HTMLAudioElement;
  private readonly call: CallRecordDto;
  private readonly rec: RecordingInfo;
  private readonly me: User;
  private wave: Waveform | null = null;
  private readonly lanes: HTMLElement;
  private readonly overlay: HTMLElement;
  private readonly playhead: HTMLElement;
  private readonly markersBox: HTMLElement;
  private readonly playBtn: HTMLButtonElement;
  private readonly time: HTMLElement;
  private readonly timeline: HTMLElement;
  private readonly status: HTMLElement;
  private canvases: HTMLCanvasElement[] = [];
  private markers: Marker[] = [];
  private readonly listeners = new Set<(seconds: number) => void>();
  private frame = 0;
  private readonly resize: ResizeObserver;
  private readonly onKey: (e: KeyboardEvent) => void;

  constructor(o: { call: CallRecordDto; recording: RecordingInfo; me: User }) {
    this.call = o.call;
    this.rec = o.recording;
    this.me = o.me;
    this.audio = h('audio', { preload: 'metadata', src: this.rec.url, 'data-testid': 'audio' });
    this.audio.playbackRate = this.audio.defaultPlaybackRate = storedRate();
    this.playBtn = h('button', { type: 'button', class: 'primary play', 'data-testid': 'play', 'aria-keyshortcuts': 'Space' });
    this.time = h('span', { class: 'player-time', 'data-testid': 'player-time', 'aria-live': 'off' });
    const speed = h(
      'select',
      { id: `speed-${this.call.id.slice(0, 8)}`, 'data-testid': 'speed' },
      options(
        RATES.map((r) => ({ value: String(r), label: `${r}×` })),
        String(this.audio.playbackRate),
      ),
    );
    speed.addEventListener('change', () => {
      const r = Number(speed.value);
      this.audio.playbackRate = this.audio.defaultPlaybackRate = r;
      localStorage.setItem(RATE_KEY, String(r));
    });
    this.status = h('span', { class: 'muted player-status', role: 'status' });
    this.lanes = h('div', { class: 'wt-lanes' });
    this.playhead = h('div', { class: 'wt-playhead', 'aria-hidden': 'true' });
    this.markersBox = h('div', { class: 'wt-markers' });
    this.overlay = h('div', { class: 'wt-overlay' }, this.playhead, this.markersBox);
    this.timeline = h(
      'div',
      {
        class: 'wt',
        role: 'slider',
        tabindex: 0,
        'data-testid': 'waveform',
        'aria-label': t('player.timeline'),
        'aria-valuemin': 0,
        'aria-keyshortcuts': 'ArrowLeft ArrowRight Home End',
      },
      this.lanes,
      this.overlay,
    );
    this.el = h(
      'div',
      { class: 'player', 'data-testid': 'player' },
      this.audio,
      h(
        'div',
        { class: 'player-controls' },
        this.playBtn,
        this.time,
        h('label', { for: speed.id, class: 'muted' }, t('player.speed')),
        speed,
        this.status,
        h('span', { class: 'spacer' }),
        h(
          'a',
          { href: `${this.rec.url}?download=1`, download: this.rec.fileName, 'data-testid': 'recording-download' },
          t('recording.download'),
        ),
      ),
      this.timeline,
      h('p', { class: 'muted player-hint' }, t('player.keys')),
    );

    this.playBtn.addEventListener('click', () => this.toggle());
    for (const ev of ['play', 'pause', 'ended', 'timeupdate', 'seeked', 'loadedmetadata', 'durationchange', 'ratechange']) {
      this.audio.addEventListener(ev, () => this.tick());
    }
    this.audio.addEventListener('play', () => this.loop());
    this.audio.addEventListener('error', () => {
      this.status.textContent = t('player.error');
      this.status.className = 'error player-status';
    });
    this.timeline.addEventListener('pointerdown', (e) => this.pointer(e));
    this.timeline.addEventListener('keydown', (e) => {
      const key = e.key;
      if (key === 'ArrowLeft' || key === 'ArrowRight') this.seek(this.current() + (key === 'ArrowLeft' ? -STEP_SECONDS : STEP_SECONDS));
      else if (key === 'Home') this.seek(0);
      else if (key === 'End') this.seek(this.duration());
      else return;
      e.preventDefault();
      e.stopPropagation();
    });
    // space and ←/→ anywhere on the page, except while typing or on a control that uses the key itself
    this.onKey = (e) => {
      if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
      const target = e.target as HTMLElement;
      if (target.closest('input,textarea,select,[contenteditable],audio')) return;
      if (e.key === ' ' && !target.closest('button,a')) {
        e.preventDefault();
        this.toggle();
      } else if ((e.key === 'ArrowLeft' || e.key === 'ArrowRight') && !target.closest('[role=radiogroup]')) {
        e.preventDefault();
        this.seek(this.current() + (e.key === 'ArrowLeft' ? -STEP_SECONDS : STEP_SECONDS));
      }
    };
    document.addEventListener('keydown', this.onKey);
    this.resize = new ResizeObserver(() => this.draw());
    this.resize.observe(this.timeline);
    this.buildLanes();
    this.tick();
    void this.loadWaveform();
  }

  /** Seconds into the recording; every listener hears about each change (playhead, comment button). */
  onTime(fn: (seconds: number) => void): () => void {
    this.listeners.add(fn);
    fn(this.current());
    return () => this.listeners.delete(fn);
  }

  current(): number {
    return this.audio.currentTime || 0;
  }

  duration(): number {
    const d = this.audio.duration;
    if (Number.isFinite(d) && d > 0) return d;
    return this.wave?.durationSeconds ?? this.rec.durationSeconds ?? 0;
  }

  seek(seconds: number): void {
    const d = this.duration();
    const to = Math.max(0, d ? Math.min(seconds, d) : seconds);
    this.audio.currentTime = to;
    this.tick();
  }

  toggle(): void {
    if (this.audio.paused) {
      this.audio.play().catch((err: unknown) => {
        this.status.textContent = `${t('player.error')}: ${err instanceof Error ? err.message : String(err)}`;
        this.status.className = 'error player-status';
      });
    } else {
      this.audio.pause();
    }
  }

  setMarkers(markers: Marker[]): void {
    this.markers = markers;
    this.renderMarkers();
  }

  dispose(): void {
    cancelAnimationFrame(this.frame);
    this.resize.disconnect();
    document.removeEventListener('keydown', this.onKey);
    this.audio.pause();
    this.listeners.clear();
  }

  // ----------------------------------------------------------------------------------------------

  private async loadWaveform(): Promise<void> {
    try {
      this.wave = await api.waveform(this.call.id);
    } catch {
      this.wave = null;
      this.status.textContent = t('player.noWaveform');
    }
    this.buildLanes();
    this.tick();
  }

  /** One lane per channel (customer / agent by customerChannel, or one mixed lane), then one per leg. */
  private buildLanes(): void {
    const wave = this.wave;
    const channels = wave ? wave.peaks.length : 1;
    const stereo = channels === 2 && wave?.customerChannel !== null && wave?.customerChannel !== undefined;
    this.canvases = [];
    const rows: HTMLElement[] = [];
    for (let ch = 0; ch < channels; ch++) {
      const who: MessageKey = !stereo ? 'player.mixed' : ch === wave!.customerChannel ? 'player.customer' : 'player.agent';
      const canvas = h('canvas', { class: 'wt-wave', 'data-channel': ch, 'aria-hidden': 'true' });
      this.canvases.push(canvas);
      rows.push(
        h(
          'div',
          { class: `wt-row wave ${stereo ? (ch === wave!.customerChannel ? 'customer' : 'agent') : 'mono'}` },
          h('span', { class: 'wt-label' }, t(who)),
          h('div', { class: 'wt-track' }, canvas),
        ),
      );
    }
    rows.push(this.axisRow(), ...this.legRows());
    this.lanes.replaceChildren(...rows);
    this.renderMarkers();
    this.draw();
  }

  /** `0:00  0:05  0:10` under the waveform, about 6–10 ticks whatever the length. */
  private axisRow(): HTMLElement {
    const d = this.duration();
    const step = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800].find((s) => d / s <= 10) ?? 3600;
    const ticks: HTMLElement[] = [];
    for (let s = 0; d && s <= d * 0.96; s += step) {
      ticks.push(h('span', { class: 'wt-tick', style: `left:${(s / d) * 100}%` }, clock(s)));
    }
    return h(
      'div',
      { class: 'wt-row axis', 'aria-hidden': 'true' },
      h('span', { class: 'wt-label' }),
      h('div', { class: 'wt-track' }, ticks),
    );
  }

  private legRows(): HTMLElement[] {
    const call = this.call;
    const origin = call.answeredAt ? Date.parse(call.answeredAt) : null;
    const d = this.duration();
    if (origin === null || !d) return [];
    const at = (iso: string | null) => (iso ? (Date.parse(iso) - origin) / 1000 : null);
    const end = at(call.endedAt) ?? d;
    return call.legs
      .filter((l) => l.answeredAt || l.ringingAt)
      .map((l) => {
        const ring = at(l.ringingAt);
        const answer = at(l.answeredAt);
        const stop = at(l.endedAt) ?? end;
        const bar = (from: number, to: number, cls: string, title: string) => {
          const a = Math.max(0, from);
          const b = Math.min(d, to);
          if (b <= a) return null;
          return h('span', {
            class: `wt-leg ${cls}`,
            style: `left:${(a / d) * 100}%;width:${((b - a) / d) * 100}%`,
            title,
          });
        };
        const name = call.agent?.extension === l.extension && call.agent.name ? ` ${call.agent.name}` : '';
        const times = [
          l.ringingAt ? `${t('legs.rang')} ${formatTimeSeconds(l.ringingAt)}` : '',
          l.answeredAt ? `${t('legs.answered')} ${formatTimeSeconds(l.answeredAt)}` : '',
          l.endedAt ? `${t('legs.ended')} ${formatTimeSeconds(l.endedAt)}` : '',
        ]
          .filter(Boolean)
          .join(' · ');
        return h(
          'div',
          { class: 'wt-row leg-row', 'data-testid': 'timeline-leg', 'data-extension': l.extension },
          h('span', { class: 'wt-label', title: times }, `${l.extension}${name}`, isMine(this.me, l) ? ` (${t('legs.me')})` : ''),
          h(
            'div',
            { class: 'wt-track' },
            ring !== null ? bar(ring, answer ?? stop, 'ring', `${t('state.ringing')}: ${times}`) : null,
            answer !== null ? bar(answer, stop, l.result === 'answered' || !l.result ? 'talk' : 'other', times) : null,
          ),
        );
      });
  }

  private renderMarkers(): void {
    const d = this.duration();
    this.markersBox.replaceChildren(
      ...(d
        ? this.markers
            .filter((m) => m.atSeconds >= 0 && m.atSeconds <= d)
            .map((m) =>
              h(
                'button',
                {
                  type: 'button',
                  class: 'wt-marker',
                  style: `left:${(m.atSeconds / d) * 100}%`,
                  title: `${clock(m.atSeconds)} ${m.label}`,
                  'aria-label': `${t('player.jumpTo', { time: clock(m.atSeconds) })}: ${m.label}`,
                  onclick: (e: Event) => {
                    e.stopPropagation();
                    this.seek(m.atSeconds);
                  },
                  onpointerdown: (e: Event) => e.stopPropagation(),
                },
                '',
              ),
            )
        : []),
    );
  }

  private pointer(e: PointerEvent): void {
    if (e.button !== 0) return;
    const track = this.lanes.querySelector('.wt-track');
    if (!track) return;
    const seekAt = (ev: PointerEvent) => {
      const r = track.getBoundingClientRect();
      const x = Math.min(Math.max(ev.clientX - r.left, 0), r.width);
      if (r.width) this.seek((x / r.width) * this.duration());
    };
    const r = track.getBoundingClientRect();
    if (e.clientX < r.left - 4) return; // the label column
    e.preventDefault();
    this.timeline.focus();
    seekAt(e);
    const move = (ev: PointerEvent) => seekAt(ev);
    const up = () => {
      window.removeEventListener('pointermove', move);
      window.removeEventListener('pointerup', up);
    };
    window.addEventListener('pointermove', move);
    window.addEventListener('pointerup', up);
  }

  private loop(): void {
    cancelAnimationFrame(this.frame);
    const step = () => {
      this.tick();
      if (!this.audio.paused) this.frame = requestAnimationFrame(step);
    };
    this.frame = requestAnimationFrame(step);
  }

  private lastDuration = 0;

  private tick(): void {
    const now = this.current();
    const d = this.duration();
    if (d !== this.lastDuration) {
      this.lastDuration = d;
      this.buildLanes();
    }
    const p = d ? Math.min(now / d, 1) : 0;
    this.timeline.style.setProperty('--p', String(p));
    this.timeline.setAttribute('aria-valuemax', String(Math.round(d)));
    this.timeline.setAttribute('aria-valuenow', String(Math.round(now)));
    this.timeline.setAttribute('aria-valuetext', `${clock(now)} / ${clock(d)}`);
    this.time.textContent = `${clock(now)} / ${clock(d)}`;
    const playing = !this.audio.paused;
    this.playBtn.textContent = playing ? `❚❚ ${t('player.pause')}` : `▶ ${t('player.play')}`;
    this.playBtn.setAttribute('aria-pressed', playing ? 'true' : 'false');
    this.draw(p);
    for (const fn of this.listeners) fn(now);
  }

  private draw(progress?: number): void {
    const d = this.duration();
    const p = progress ?? (d ? Math.min(this.current() / d, 1) : 0);
    const css = getComputedStyle(this.timeline);
    const played = css.getPropertyValue('--wave-played').trim() || '#2457c5';
    const rest = css.getPropertyValue('--wave-rest').trim() || '#b8c2d1';
    this.canvases.forEach((canvas, ch) => {
      const w = canvas.clientWidth;
      const hgt = canvas.clientHeight;
      if (!w || !hgt) return;
      const ratio = window.devicePixelRatio || 1;
      if (canvas.width !== Math.round(w * ratio) || canvas.height !== Math.round(hgt * ratio)) {
        canvas.width = Math.round(w * ratio);
        canvas.height = Math.round(hgt * ratio);
      }
      const ctx = canvas.getContext('2d');
      if (!ctx) return;
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      ctx.clearRect(0, 0, w, hgt);
      const peaks = this.wave?.peaks[ch];
      const mid = hgt / 2;
      if (!peaks?.length) {
        ctx.fillStyle = rest;
        ctx.fillRect(0, mid - 0.5, w, 1);
        return;
      }
      const bar = w / peaks.length;
      for (let i = 0; i < peaks.length; i++) {
        const x = i * bar;
        const amp = Math.max(0.5, Math.min(1, peaks[i]!) * (mid - 1));
        ctx.fillStyle = (i + 0.5) / peaks.length <= p ? played : rest;
        ctx.fillRect(x, mid - amp, Math.max(1, bar - (bar > 2 ? 0.5 : 0)), amp * 2);
      }
    });
  }
}
