import { formatSeconds, secondsSince } from '../format';

/** Live timers: every element with `data-since` (ISO) shows the time elapsed since, once a second. */
export function startTicker(): void {
  const tick = () => {
    for (const el of document.querySelectorAll<HTMLElement>('[data-since]')) {
      el.textContent = formatSeconds(secondsSince(el.dataset.since!));
    }
  };
  tick();
  setInterval(tick, 1000);
}
