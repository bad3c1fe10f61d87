/** A tiny DOM builder: `h('button', { class: 'primary', onclick: save }, t('save'))`. */
export type Child = Node | string | number | null | undefined | false | Child[];
type AttrValue = string | number | boolean | null | undefined | ((event: Event) => void);
export type Attrs = Record<string, AttrValue>;

const PROPERTIES = new Set(['value', 'checked', 'selected', 'disabled', 'hidden']);

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  append(node, children);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (typeof value === 'function') node.addEventListener(key.replace(/^on/, ''), value);
    else if (PROPERTIES.has(key)) (node as unknown as Record<string, unknown>)[key] = value ?? (key === 'value' ? '' : false);
    else if (value === true) node.setAttribute(key, '');
    else if (value !== false && value !== null && value !== undefined) node.setAttribute(key, String(value));
  }
  return node;
}

export function append(parent: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(parent, c);
    else parent.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/** A table head of one row, a `<th>` per label. */
export function thead(labels: string[]): HTMLTableSectionElement {
  return h(
    'thead',
    {},
    h(
      'tr',
      {},
      labels.map((x) => h('th', {}, x)),
    ),
  );
}

/** `<option>`s; `selected` marks the current value. */
export function options(items: { value: string; label: string }[], selected?: string | null): HTMLOptionElement[] {
  return items.map((o) => h('option', { value: o.value, selected: o.value === (selected ?? '') }, o.label));
}

/** Calls `fn` at most once per `ms`, with the last arguments. */
export function debounce<A extends unknown[]>(fn: (...args: A) => void, ms: number): (...args: A) => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return (...args: A) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
