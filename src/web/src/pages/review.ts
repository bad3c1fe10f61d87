import { api, ApiError } from '../api';
import { agentLabel, callNumber, directionIcon, stateBadge } from '../components/call-status';
import { clock, parseClock, Player } from '../components/player';
import {
  analyticsPanel,
  commentForm,
  commentList,
  errorText,
  overallScore,
  recordingBadge,
  reviewCard,
  reviewStateBadge,
  scoreBadge,
} from '../components/review-parts';
import { toast } from '../components/toast';
import { h, replace } from '../dom';
import { formatDate, formatSeconds, formatTime } from '../format';
import { t } from '../i18n';
import type { Page } from '../router';
import { seesEverything, session } from '../session';
import type { CallRecordDto, RecordingInfo, ReviewCriterion, ReviewDto } from '../types';

/**
 * One call under review (`#/review/<call id>`): the recording with its waveform and the call's legs,
 * the talk analytics, the scorecard and comments pinned to moments. A supervisor gets their own
 * review (POST creates the draft on the first visit); a manager sees the submitted reviews of
 * their call read-only and replies to comments.
 */
export const reviewPage: Page = async ({ main, params, query }) => {
  const { me } = session();
  const callId = params.id!;
  const reviewer = seesEverything(me);
  main.replaceChildren(h('p', { class: 'muted' }, t('form.loading')));
  let call: CallRecordDto;
  let criteria: ReviewCriterion[];
  let reviews: ReviewDto[];
  let mine: ReviewDto | null = null;
  try {
    [call, criteria, reviews, mine] = await Promise.all([
      api.call(callId),
      api.criteria().then((r) => r.items),
      api.callReviews(callId).then((r) => r.items),
      reviewer ? api.startReview(callId) : Promise.resolve(null),
    ]);
  } catch (err) {
    main.replaceChildren(h('p', { class: 'error' }, err instanceof ApiError && err.status === 404 ? t('call.notFound') : errorText(err)));
    return;
  }
  const rec = call.recording as RecordingInfo | null;
  const player = rec?.state === 'stored' ? new Player({ call, recording: rec, me }) : null;
  const seek = player ? (s: number) => player.seek(s) : undefined;

  const others = () => reviews.filter((r) => r.id !== mine?.id && (r.state === 'submitted' || reviewer));
  const markers = () => {
    const shown = [...(mine ? [mine] : []), ...others()];
    player?.setMarkers(
      shown.flatMap((r) =>
        r.comments.filter((c) => c.atSeconds !== null && !c.parentId).map((c) => ({ atSeconds: c.atSeconds!, label: c.body })),
      ),
    );
  };

  // ---- head
  const head = h(
    'div',
    { class: 'call-head' },
    h('h1', {}, call.contact?.name ?? callNumber(call)),
    h(
      'p',
      { class: 'call-sub' },
      directionIcon(call),
      ' ',
      stateBadge(call),
      ' ',
      call.contact ? h('span', { class: 'card-number' }, callNumber(call)) : null,
      h('span', { class: 'muted' }, ` · ${formatDate(call.startedAt)} ${formatTime(call.startedAt)}`),
      call.agent ? h('span', {}, ` · ${t('field.agent')}: `, h('strong', {}, agentLabel(call))) : null,
      call.talkSeconds !== null ? h('span', { class: 'muted' }, ` · ${t('calls.talk')} ${formatSeconds(call.talkSeconds)}`) : null,
      ' ',
      h('a', { href: `#/calls/${call.id}` }, t('review.callDetails')),
    ),
  );

  // ---- the recording
  const playerPanel = h(
    'section',
    { class: 'panel' },
    h('h2', {}, t('call.recording'), ' ', recordingBadge(rec)),
    player ? player.el : h('p', { class: 'muted' }, rec ? t(`recording.${rec.state}`) : t('recording.none')),
  );

  // ---- my review: comments and the scorecard
  const commentsPanel = h('section', { class: 'panel comments-panel', 'data-testid': 'comments-panel' });
  const scorecardPanel = h('section', { class: 'panel scorecard', 'data-testid': 'scorecard' });
  const othersBox = h('div', {});
  let offTime: (() => void) | undefined;

  const renderOthers = () => {
    const list = others();
    replace(
      othersBox,
      list.length
        ? h(
            'section',
            { class: 'panel' },
            h('h2', {}, reviewer && mine ? t('review.otherReviews') : t('review.reviews')),
            list.map((r) => reviewCard(r, { canReply: true, onSeek: seek })),
          )
        : reviewer
          ? null
          : h('section', { class: 'panel' }, h('h2', {}, t('review.reviews')), h('p', { class: 'muted' }, t('review.noneForCall'))),
    );
  };

  const renderComments = (r: ReviewDto) => {
    offTime?.();
    const addBtn = h('button', { type: 'button', class: 'primary', 'data-testid': 'add-comment' });
    const formBox = h('div', {});
    offTime = player?.onTime((s) => (addBtn.textContent = t('review.commentAt', { time: clock(s) })));
    if (!player) addBtn.textContent = t('review.addComment');
    addBtn.addEventListener('click', () => {
      const at = player ? clock(player.current()) : '';
      const time = h('input', {
        name: 'at',
        value: at,
        size: 6,
        placeholder: 'm:ss',
        inputmode: 'numeric',
        id: 'comment-at',
        'data-testid': 'comment-time',
        title: t('review.timeHint'),
      });
      addBtn.hidden = true;
      replace(
        formBox,
        commentForm({
          review: r,
          placeholder: t('review.commentHint'),
          submitLabel: t('review.addComment'),
          extra: h('div', { class: 'comment-time' }, h('label', { for: time.id }, t('review.moment')), time),
          atSeconds: () => (time.value.trim() ? (parseClock(time.value) ?? NaN) : null),
          onDone: (updated) => {
            mine = updated;
            renderComments(updated);
            markers();
          },
          onCancel: () => {
            replace(formBox);
            addBtn.hidden = false;
          },
        }),
      );
    });
    replace(
      commentsPanel,
      h('div', { class: 'panel-head' }, h('h2', {}, t('review.comments')), addBtn),
      formBox,
      commentList(r, {
        canReply: true,
        onSeek: seek,
        onChanged: (updated) => {
          mine = updated;
          renderComments(updated);
          markers();
        },
      }),
    );
  };

  const renderScorecard = (r: ReviewDto) => {
    const values = new Map<string, number>(r.scores.map((s) => [s.criterionId, s.value]));
    // criteria deactivated since they were scored still show, at the end
    const shown: Pick<ReviewCriterion, 'id' | 'name' | 'description' | 'kind' | 'weight'>[] = [
      ...criteria,
      ...r.scores
        .filter((s) => !criteria.some((c) => c.id === s.criterionId))
        .map((s) => ({ id: s.criterionId, name: s.name, description: null, kind: s.kind, weight: s.weight })),
    ];
    const total = h('div', { class: 'score-total', 'data-testid': 'live-score' });
    const progress = h('span', { class: 'muted' });
    const status = h('span', { class: 'form-status', role: 'status', 'aria-live': 'polite' });
    const summary = h('textarea', {
      id: 'review-summary',
      name: 'summary',
      rows: 3,
      maxlength: 4000,
      value: r.summary ?? '',
      placeholder: t('review.summaryHint'),
    });
    const saveBtn = h(
      'button',
      { type: 'submit', class: r.state === 'submitted' ? 'primary' : '', 'data-testid': 'save-draft' },
      r.state === 'submitted' ? t('form.save') : t('review.saveDraft'),
    );
    const submitBtn = h('button', { type: 'button', class: 'primary', 'data-testid': 'submit-review' }, t('review.submit'));
    const update = () => {
      const score = overallScore(shown.map((c) => ({ kind: c.kind, weight: c.weight, value: values.get(c.id) })));
      const scored = criteria.filter((c) => values.has(c.id)).length;
      replace(total, h('span', { class: 'muted' }, t('review.overall')), ' ', scoreBadge(score, 'overall-score'));
      progress.textContent = t('review.scoredOf', { n: scored, total: criteria.length });
      submitBtn.disabled = scored < criteria.length || criteria.length === 0;
      submitBtn.title = submitBtn.disabled ? t('review.scoreAll') : '';
    };
    const rows = shown.map((c) => {
      const group = `crit-${c.id}`;
      const choices = c.kind === 'yes_no' ? [1, 0] : [1, 2, 3, 4, 5];
      return h(
        'div',
        { class: 'criterion', 'data-testid': 'criterion', 'data-criterion-id': c.id, 'data-kind': c.kind },
        h(
          'div',
          { class: 'criterion-name' },
          h('span', { id: `${group}-label` }, c.name),
          h('span', { class: 'weight muted', title: t('criterion.weight') }, t('criterion.weightShort', { weight: c.weight })),
          c.description ? h('div', { class: 'muted criterion-desc' }, c.description) : null,
        ),
        h(
          'div',
          { class: `choices ${c.kind}`, role: 'radiogroup', 'aria-labelledby': `${group}-label` },
          choices.map((v) => {
            const input = h('input', {
              type: 'radio',
              name: group,
              id: `${group}-${v}`,
              value: String(v),
              checked: values.get(c.id) === v,
              onchange: () => {
                values.set(c.id, v);
                status.textContent = '';
                update();
              },
            });
            const label = c.kind === 'yes_no' ? (v ? t('form.yes') : t('form.no')) : String(v);
            return h('label', { for: input.id, class: `choice v${v}` }, input, h('span', {}, label));
          }),
        ),
      );
    });
    const save = async (submit: boolean) => {
      saveBtn.disabled = submitBtn.disabled = true;
      status.className = 'form-status';
      status.textContent = t('form.saving');
      try {
        const updated = await api.updateReview(r.id, {
          scores: [...values].map(([criterionId, value]) => ({ criterionId, value })),
          summary: summary.value.trim() || null,
          ...(submit ? { submit: true as const } : {}),
        });
        mine = updated;
        renderScorecard(updated);
        toast(submit ? t('review.submitted') : t('form.saved'), 'ok');
      } catch (err) {
        status.textContent = errorText(err);
        status.classList.add('error');
        saveBtn.disabled = false;
        update();
      }
    };
    const form = h(
      'form',
      { class: 'scorecard-form' },
      criteria.length ? rows : h('p', { class: 'muted' }, t('review.noCriteria')),
      h('label', { for: summary.id, class: 'muted' }, t('review.summary')),
      summary,
      // a submitted review stays editable by its reviewer: "Save" keeps it submitted
      h('div', { class: 'form-actions' }, saveBtn, r.state === 'submitted' ? null : submitBtn, status),
    );
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      void save(false);
    });
    submitBtn.addEventListener('click', () => void save(true));
    replace(
      scorecardPanel,
      h(
        'div',
        { class: 'panel-head' },
        h('h2', {}, t('review.scorecard')),
        reviewStateBadge(r.state),
        r.submittedAt ? h('span', { class: 'muted' }, formatDate(r.submittedAt)) : null,
      ),
      h('div', { class: 'score-line' }, total, progress),
      form,
    );
    update();
  };

  if (mine) {
    renderComments(mine);
    renderScorecard(mine);
  }
  renderOthers();
  markers();

  main.replaceChildren(
    h(
      'p',
      { class: 'crumbs' },
      reviewer ? h('a', { href: '#/review' }, t('nav.review')) : h('a', { href: '#/reviews' }, t('nav.reviews')),
      ' / ',
    ),
    head,
    h(
      'div',
      { class: 'review-layout' },
      h('div', {}, playerPanel, analyticsPanel(rec), mine ? commentsPanel : null),
      h('div', {}, mine ? scorecardPanel : null, othersBox),
    ),
  );
  const at = Number(query.get('t'));
  if (player && query.get('t') && Number.isFinite(at)) player.seek(at);
  return () => {
    offTime?.();
    player?.dispose();
  };
};
