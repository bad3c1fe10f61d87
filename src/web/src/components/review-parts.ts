import { api, ApiError } from '../api';
import { h, replace } from '../dom';
import { formatDate, formatSeconds, formatTime, formatWhen } from '../format';
import { t, type MessageKey } from '../i18n';
import type { CommentDto, CriterionKind, RecordingInfo, ReviewDto, TalkAnalyticsDto } from '../types';
import { clock } from './player';
import { toast } from './toast';

export const errorText = (err: unknown) => (err instanceof ApiError ? err.message : String(err));

/** 0..1 → `42%` */
export const percent = (x: number | null | undefined) => (x === null || x === undefined ? '—' : `${Math.round(x * 100)}%`);

/** The overall score, as the server computes it: 100 · Σ(weight · f) / Σ weight over the scored criteria (f: yes/no 0|1, scale (v−1)/4). */
export function overallScore(scores: { kind: CriterionKind; weight: number; value: number | null | undefined }[]): number | null {
  let sum = 0;
  let weights = 0;
  for (const s of scores) {
    if (s.value === null || s.value === undefined) continue;
    const f = s.kind === 'yes_no' ? (s.value ? 1 : 0) : (s.value - 1) / 4;
    sum += s.weight * f;
    weights += s.weight;
  }
  return weights ? (100 * sum) / weights : null;
}

/** green from 80, amber from 50, red below */
export function scoreBadge(score: number | null, testId = 'score'): HTMLElement {
  if (score === null) return h('span', { class: 'score none', 'data-testid': testId }, '—');
  const band = score >= 80 ? 'good' : score >= 50 ? 'fair' : 'poor';
  return h('span', { class: `score ${band}`, 'data-testid': testId, title: t('review.score') }, String(Math.round(score)));
}

export function reviewStateBadge(state: ReviewDto['state'] | null): HTMLElement {
  if (!state) return h('span', { class: 'badge unanswered', 'data-testid': 'review-state' }, t('review.notReviewed'));
  return h('span', { class: `badge review-${state}`, 'data-testid': 'review-state' }, t(`review.state.${state}`));
}

export function recordingBadge(rec: RecordingInfo | null): HTMLElement {
  const state = rec?.state ?? 'none';
  return h('span', { class: `badge rec-${state}`, 'data-testid': 'recording-state' }, t(`recording.${state}` as MessageKey));
}

export function criterionValue(kind: CriterionKind, value: number): string {
  if (kind === 'yes_no') return value ? `✓ ${t('form.yes')}` : `✗ ${t('form.no')}`;
  return `${value} / 5`;
}

/** Talk/listen, the longest monologue, silence, overtalk; or why there are none. */
export function analyticsPanel(rec: RecordingInfo | null): HTMLElement {
  const a: TalkAnalyticsDto | null | undefined = rec?.analytics;
  if (!a) {
    return h(
      'section',
      { class: 'panel analytics', 'data-testid': 'analytics' },
      h('h2', {}, t('analytics.title')),
      h('p', { class: 'muted' }, rec?.state === 'stored' ? t('analytics.mono') : t('analytics.none')),
    );
  }
  const agentShare = a.agentTalkShare;
  const rows: [MessageKey, Node | string, string?][] = [
    [
      'analytics.talkListen',
      agentShare === null
        ? '—'
        : h(
            'span',
            { class: 'talk-split' },
            h('span', { class: 'talk-bar', style: `--share:${agentShare}` }),
            // whole percents that add up to 100
            ` ${t('player.agent')} ${Math.round(agentShare * 100)}% · ${t('player.customer')} ${100 - Math.round(agentShare * 100)}%`,
          ),
      a.talkListenRatio !== null ? t('analytics.ratio', { ratio: a.talkListenRatio.toFixed(2) }) : undefined,
    ],
    [
      'analytics.monologue',
      a.longestMonologueBy
        ? `${formatSeconds(a.longestMonologueSeconds)} (${t(a.longestMonologueBy === 'agent' ? 'player.agent' : 'player.customer')})`
        : '—',
    ],
    ['analytics.silence', percent(a.silenceShare), formatSeconds(a.silenceShare * a.durationSeconds)],
    ['analytics.overtalk', percent(a.overtalkShare), formatSeconds(a.overtalkSeconds)],
  ];
  return h(
    'section',
    { class: 'panel analytics', 'data-testid': 'analytics' },
    h('h2', {}, t('analytics.title')),
    h(
      'dl',
      { class: 'facts-grid analytics-grid' },
      rows.map(([k, v, note]) =>
        h('div', {}, h('dt', {}, t(k)), h('dd', {}, v, note ? h('span', { class: 'muted' }, ` · ${note}`) : null)),
      ),
    ),
  );
}

/** Small badges for a queue row: the agent's talk share, silence, overtalk when notable. */
export function analyticsBadges(rec: RecordingInfo | null): HTMLElement {
  const a = rec?.analytics;
  if (!a) return h('span', { class: 'muted' }, rec?.channels === 1 ? t('analytics.monoShort') : '');
  return h(
    'span',
    { class: 'an-badges' },
    a.agentTalkShare !== null
      ? h('span', { class: 'an-badge', title: t('analytics.agentShare') }, `${t('analytics.short.agent')} ${percent(a.agentTalkShare)}`)
      : null,
    h(
      'span',
      { class: `an-badge${a.silenceShare >= 0.3 ? ' warn' : ''}`, title: t('analytics.silence') },
      `${t('analytics.silence')} ${percent(a.silenceShare)}`,
    ),
    a.overtalkShare >= 0.05
      ? h(
          'span',
          { class: 'an-badge warn', title: t('analytics.overtalk') },
          `${t('analytics.short.overtalk')} ${percent(a.overtalkShare)}`,
        )
      : null,
  );
}

/** Top-level comments by moment (no moment last), each with its replies in time order. */
export function threads(comments: CommentDto[]): { comment: CommentDto; replies: CommentDto[] }[] {
  const byParent = new Map<string, CommentDto[]>();
  for (const c of comments) {
    if (!c.parentId) continue;
    const list = byParent.get(c.parentId) ?? [];
    list.push(c);
    byParent.set(c.parentId, list);
  }
  // a reply to a reply joins its top-level thread
  const rootOf = (c: CommentDto): string => {
    let cur = c;
    const seen = new Set<string>();
    while (cur.parentId && !seen.has(cur.id)) {
      seen.add(cur.id);
      const parent = comments.find((x) => x.id === cur.parentId);
      if (!parent) break;
      cur = parent;
    }
    return cur.id;
  };
  return comments
    .filter((c) => !c.parentId)
    .sort((a, b) => (a.atSeconds ?? Infinity) - (b.atSeconds ?? Infinity) || a.createdAt.localeCompare(b.createdAt))
    .map((comment) => ({
      comment,
      replies: comments.filter((c) => c.parentId && rootOf(c) === comment.id).sort((a, b) => a.createdAt.localeCompare(b.createdAt)),
    }));
}

function authorLine(c: CommentDto): HTMLElement {
  return h(
    'span',
    { class: 'comment-meta muted' },
    h('strong', { class: 'comment-author' }, c.author?.name ?? t('review.deletedUser')),
    c.author ? ` · ${t(`role.${c.author.role}`)}` : '',
    ` · ${formatWhen(c.createdAt)}`,
  );
}

/**
 * The comments of one review: a timestamp button per comment (seeks the player, or opens the review
 * page at that moment), replies under it, a reply box when the user may reply.
 */
export function commentList(
  review: ReviewDto,
  o: { canReply: boolean; onSeek?: (seconds: number) => void; seekHref?: (seconds: number) => string; onChanged: (r: ReviewDto) => void },
): HTMLElement {
  const list = threads(review.comments);
  if (!list.length) return h('p', { class: 'muted', 'data-testid': 'no-comments' }, t('review.noComments'));
  return h(
    'ul',
    { class: 'comments', 'data-testid': 'comments' },
    list.map(({ comment, replies }) => {
      const at = comment.atSeconds;
      const stamp =
        at === null
          ? h('span', { class: 'comment-at none' }, '—')
          : o.onSeek
            ? h(
                'button',
                {
                  type: 'button',
                  class: 'comment-at',
                  'data-testid': 'comment-at',
                  title: t('player.jumpTo', { time: clock(at) }),
                  onclick: () => o.onSeek!(at),
                },
                clock(at),
              )
            : h('a', { class: 'comment-at', 'data-testid': 'comment-at', href: o.seekHref?.(at) ?? '#' }, clock(at));
      const replyBox = h('div', { class: 'reply-box' });
      const replyBtn = o.canReply
        ? h(
            'button',
            {
              type: 'button',
              class: 'link',
              'data-testid': 'reply',
              onclick: () => {
                replyBtn!.hidden = true;
                replace(
                  replyBox,
                  commentForm({
                    review,
                    parentId: comment.id,
                    placeholder: t('review.replyHint'),
                    submitLabel: t('review.reply'),
                    onDone: (r) => o.onChanged(r),
                    onCancel: () => {
                      replace(replyBox);
                      replyBtn!.hidden = false;
                    },
                  }),
                );
              },
            },
            t('review.reply'),
          )
        : null;
      return h(
        'li',
        { class: 'comment', 'data-testid': 'comment', 'data-comment-id': comment.id },
        h('div', { class: 'comment-head' }, stamp, authorLine(comment)),
        h('p', { class: 'comment-body', 'data-testid': 'comment-body' }, comment.body),
        replies.length
          ? h(
              'ul',
              { class: 'replies' },
              replies.map((r) =>
                h(
                  'li',
                  { class: 'comment reply', 'data-testid': 'comment-reply' },
                  authorLine(r),
                  h('p', { class: 'comment-body', 'data-testid': 'comment-body' }, r.body),
                ),
              ),
            )
          : null,
        replyBtn,
        replyBox,
      );
    }),
  );
}

/** A textarea and a button; POST /api/reviews/:id/comments, then the review is reloaded. */
export function commentForm(o: {
  review: ReviewDto;
  parentId?: string;
  atSeconds?: () => number | null;
  placeholder: string;
  submitLabel: string;
  extra?: HTMLElement;
  onDone: (r: ReviewDto) => void;
  onCancel?: () => void;
}): HTMLFormElement {
  const body = h('textarea', {
    name: 'comment',
    rows: 2,
    maxlength: 4000,
    required: true,
    placeholder: o.placeholder,
    'aria-label': o.placeholder,
    'data-testid': o.parentId ? 'reply-body' : 'comment-body-input',
  });
  const error = h('p', { class: 'error', role: 'alert' });
  const save = h('button', { type: 'submit', class: 'primary', 'data-testid': o.parentId ? 'reply-save' : 'comment-save' }, o.submitLabel);
  const form = h(
    'form',
    { class: 'comment-form' },
    o.extra ?? null,
    body,
    error,
    h(
      'div',
      { class: 'form-actions' },
      save,
      o.onCancel ? h('button', { type: 'button', class: 'link', onclick: o.onCancel }, t('form.cancel')) : null,
      h('span', { class: 'muted' }, t('annotate.notesHint')),
    ),
  );
  body.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) form.requestSubmit();
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = body.value.trim();
    if (!text) return;
    let atSeconds: number | null = null;
    if (o.atSeconds) {
      atSeconds = o.atSeconds();
      if (Number.isNaN(atSeconds)) {
        error.textContent = t('review.badTime');
        return;
      }
    }
    save.disabled = true;
    try {
      await api.comment(o.review.id, { body: text, ...(o.parentId ? { parentId: o.parentId } : { atSeconds }) });
      body.value = '';
      error.textContent = '';
      o.onDone(await api.review(o.review.id));
    } catch (err) {
      error.textContent = errorText(err);
    } finally {
      save.disabled = false;
    }
  });
  queueMicrotask(() => body.focus());
  return form;
}

/** A submitted (or someone else's) review, read-only: score, the criteria, the summary, the comments with replies. */
export function reviewCard(
  review: ReviewDto,
  o: { canReply: boolean; onSeek?: (seconds: number) => void; seekHref?: (seconds: number) => string; link?: string },
): HTMLElement {
  const box = h('article', { class: 'review-card', 'data-testid': 'review-card', 'data-review-id': review.id });
  const render = (r: ReviewDto) => {
    replace(
      box,
      h(
        'header',
        { class: 'review-card-head' },
        scoreBadge(r.score),
        h(
          'div',
          {},
          h('strong', {}, r.reviewer?.name ?? t('review.deletedUser')),
          ' ',
          reviewStateBadge(r.state),
          h(
            'div',
            { class: 'muted' },
            r.submittedAt ? t('review.submittedAt', { when: `${formatDate(r.submittedAt)} ${formatTime(r.submittedAt)}` }) : '',
          ),
        ),
        o.link ? h('a', { href: o.link, class: 'review-open', 'data-testid': 'open-review' }, t('review.open')) : null,
      ),
      r.scores.length
        ? h(
            'table',
            { class: 'list scores', 'data-testid': 'review-scores' },
            h(
              'tbody',
              {},
              r.scores.map((s) =>
                h(
                  'tr',
                  {},
                  h('td', {}, s.name),
                  h('td', { class: 'muted num' }, t('criterion.weightShort', { weight: s.weight })),
                  h('td', { class: `num value ${s.kind === 'yes_no' ? (s.value ? 'yes' : 'no') : ''}` }, criterionValue(s.kind, s.value)),
                ),
              ),
            ),
          )
        : null,
      r.summary ? h('p', { class: 'review-summary', 'data-testid': 'review-summary' }, r.summary) : null,
      h('h4', {}, t('review.comments')),
      commentList(r, { canReply: o.canReply, onSeek: o.onSeek, seekHref: o.seekHref, onChanged: render }),
    );
  };
  render(review);
  return box;
}

export function toastError(err: unknown): void {
  toast(errorText(err), 'error');
}
