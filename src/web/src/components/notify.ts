import { t } from '../i18n';

/** Desktop notifications for a screen-pop while the tab is hidden (permission asked on a click). */
export const notificationsSupported = () => 'Notification' in window;
export const canAskPermission = () => notificationsSupported() && Notification.permission === 'default';

export async function askPermission(): Promise<NotificationPermission> {
  if (!notificationsSupported()) return 'denied';
  return Notification.requestPermission();
}

export function notify(title: string, body: string, tag: string, onClick: () => void): void {
  if (!notificationsSupported() || Notification.permission !== 'granted' || document.visibilityState === 'visible') return;
  try {
    const n = new Notification(title || t('notify.incoming'), { body, tag, requireInteraction: false });
    n.onclick = () => {
      window.focus();
      onClick();
      n.close();
    };
  } catch {
    /* some browsers only allow notifications from a service worker */
  }
}
