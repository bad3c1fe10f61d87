/** Hash routing (`#/calls/<id>?…`): deep links work with any static server and survive reloads. */
export interface PageContext {
  main: HTMLElement;
  params: Record<string, string>;
  query: URLSearchParams;
}
/** A page renders into `main` and may return a cleanup (unsubscribe) function. */
export type Page = (ctx: PageContext) => void | (() => void) | Promise<void | (() => void)>;

export interface RouteMatch {
  /** the nav key: `#/`, `#/history`, … */
  active: string;
  page: Page;
  params: Record<string, string>;
  query: URLSearchParams;
}

export function parseHash(hash = location.hash): { path: string; query: URLSearchParams } {
  const raw = hash.replace(/^#/, '') || '/';
  const [path = '/', q = ''] = raw.split('?', 2);
  return { path: path.startsWith('/') ? path : `/${path}`, query: new URLSearchParams(q) };
}

/** [pattern, page, the nav entry it belongs to] */
export type Route = [pattern: string, page: Page, nav: string];

export function match(routes: Route[], hash = location.hash): RouteMatch | null {
  const { path, query } = parseHash(hash);
  const parts = path.split('/').filter(Boolean);
  for (const [pattern, page, nav] of routes) {
    const want = pattern.split('/').filter(Boolean);
    if (want.length !== parts.length) continue;
    const params: Record<string, string> = {};
    const ok = want.every((w, i) => {
      if (w.startsWith(':')) {
        params[w.slice(1)] = decodeURIComponent(parts[i]!);
        return true;
      }
      return w === parts[i];
    });
    if (ok) return { active: nav, page, params, query };
  }
  return null;
}

/** `#/history?direction=inbound` from a path and the non-empty values. */
export function href(path: string, params: Record<string, string | undefined | null> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  return `#${path}${s ? `?${s}` : ''}`;
}
