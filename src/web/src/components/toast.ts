import { h } from '../dom';

/** Short messages at the bottom of the screen (errors, confirmations), read out by screen readers. */
let region: HTMLElement | null = null;

export function toastRegion(): HTMLElement {
  region ??= h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' });
  return region;
}

export function toast(message: string, kind: 'info' | 'error' | 'ok' = 'info', ms = 6000): void {
  const item = h('div', { class: `toast ${kind}` }, message);
  toastRegion().append(item);
  setTimeout(() => item.remove(), ms);
}
