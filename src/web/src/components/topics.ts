import { h } from '../dom';
import type { LiveCalls } from '../live';

/** One `<datalist>` of recent topics (from the loaded calls) that every topic input uses. */
export const TOPICS_LIST_ID = 'topic-suggestions';

export function topicSuggestions(live: LiveCalls): { el: HTMLDataListElement; dispose(): void } {
  const el = h('datalist', { id: TOPICS_LIST_ID });
  const known = new Set<string>();
  const refresh = () => {
    const topics: string[] = [];
    for (const c of live.list()) {
      const topic = c.topic?.trim();
      if (topic && !topics.includes(topic)) topics.push(topic);
      if (topics.length >= 50) break;
    }
    if (topics.length === known.size && topics.every((x) => known.has(x))) return;
    known.clear();
    topics.forEach((x) => known.add(x));
    el.replaceChildren(...topics.map((x) => h('option', { value: x })));
  };
  refresh();
  const off = live.onCall(() => refresh());
  return { el, dispose: off };
}
