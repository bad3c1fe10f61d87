import { api, ApiError } from '../api';
import { AnnotateForm } from '../components/annotate';
import { agentLabel, callNumber, stateBadge, statusLine } from '../components/call-status';
import { callButton } from '../components/click-to-call';
import { legsTimeline } from '../components/legs';
import { analyticsBadges, recordingBadge, reviewCard } from '../components/review-parts';
import { h, replace } from '../dom';
import { formatPhone, formatSeconds, formatTimeSeconds, formatDate, secondsSince } from '../format';
import { t, type MessageKey } from '../i18n';
import type { Page } from '../router';
import { seesEverything, session } from '../session';
import type { CallRecordDto, RecordingInfo, ReviewDto } from '../types';

/** One call: every field of the record, the legs timeline, the recording, the annotation. */
export const callPage: Page = async ({ main, params }) => {
  const { me, live } = session();
  const id = params.id!;
  main.replaceChildren(h('p', { class: 'muted' }, t('form.loading')));
  let call: CallRecordDto;
  try {
    call = await api.call(id);
  } catch (err) {
    main.replaceChildren(h('p', { class: 'error' }, err instanceof ApiError && err.status === 404 ? t('call.notFound') : String(err)));
    return;
  }
  live.apply(call);
  call = live.calls.get(id) ?? call;

  const head = h('div', { class: 'call-head' });
  const facts = h('dl', { class: 'facts-grid', 'data-testid': 'call-facts' });
  const legs = h('section', { class: 'panel' });
  const recording = h('section', { class: 'panel recording', 'data-testid': 'recording' });
  const reviewsBox = h('div', {});
  const annotate = new AnnotateForm(call);
  let audio: HTMLAudioElement | null = null;

  /** The player is rebuilt only when the recording itself changes (a live update must not stop playback). */
  let recordingKey = '';
  const renderRecording = (c: CallRecordDto) => {
    const rec = c.recording as RecordingInfo | null;
    const key = rec ? `${rec.id}|${rec.state}|${rec.analytics ? 1 : 0}` : '';
    if (key === recordingKey && recording.childElementCount) return;
    recordingKey = key;
    audio?.pause();
    audio = rec?.state === 'stored' ? h('audio', { controls: true, preload: 'metadata', src: rec.url, 'data-testid': 'audio' }) : null;
    replace(
      recording,
      h('h2', {}, t('call.recording'), ' ', recordingBadge(rec)),
      !rec
        ? h('p', { class: 'muted' }, t('recording.none'))
        : audio
          ? h(
              'div',
              {},
              audio,
              h(
                'p',
                { class: 'recording-links' },
                h('a', { href: `${rec.url}?download=1`, download: rec.fileName, 'data-testid': 'recording-link' }, t('recording.download')),
                ' ',
                h('span', { class: 'muted' }, rec.fileName),
                ' ',
                analyticsBadges(rec),
              ),
              seesEverything(me)
                ? h(
                    'p',
                    {},
                    h('a', { href: `#/review/${c.id}`, class: 'button-link', 'data-testid': 'review-link' }, t('review.reviewCall')),
                  )
                : null,
            )
          : h('p', { class: 'muted' }, t(`recording.${rec.state}`), ' · ', rec.fileName),
    );
  };

  /** Reviews of this call (a manager: the submitted ones), with replies; timestamps seek the player above. */
  const loadReviews = async () => {
    let items: ReviewDto[];
    try {
      items = (await api.callReviews(id)).items;
    } catch {
      replace(reviewsBox);
      return;
    }
    const shown = seesEverything(me) ? items : items.filter((r) => r.state === 'submitted');
    replace(
      reviewsBox,
      shown.length
        ? h(
            'section',
            { class: 'panel', 'data-testid': 'call-reviews' },
            h('h2', {}, t('review.reviews')),
            shown.map((r) =>
              reviewCard(r, {
                canReply: r.state === 'submitted',
                link: `#/review/${id}`,
                onSeek: (s) => {
                  if (!audio) {
                    location.hash = `#/review/${id}?t=${Math.floor(s)}`;
                    return;
                  }
                  audio.currentTime = s;
                  void audio.play().catch(() => undefined);
                },
              }),
            ),
          )
        : null,
    );
  };

  const render = (c: CallRecordDto) => {
    replace(
      head,
      h('h1', {}, c.contact?.name ?? callNumber(c)),
      h(
        'p',
        { class: 'call-sub' },
        stateBadge(c),
        ' ',
        c.contact ? h('span', { class: 'card-number' }, callNumber(c)) : null,
        c.contact && c.organization ? ' · ' : null,
        c.organization ? h('a', { href: `#/organizations/${c.organization.id}` }, c.organization.name) : null,
        ' ',
        h('span', { class: 'muted' }, statusLine(me, c)),
        c.state !== 'ended'
          ? [
              ' ',
              h(
                'span',
                { class: 'timer', 'data-since': c.answeredAt ?? c.startedAt },
                formatSeconds(secondsSince(c.answeredAt ?? c.startedAt)),
              ),
            ]
          : null,
        ' ',
        c.externalNumber && c.state === 'ended' ? callButton(c.externalNumber, { label: t('dial.callBack') }) : null,
      ),
    );
    const time = (iso: string | null) => (iso ? `${formatDate(iso)} ${formatTimeSeconds(iso)}` : '—');
    const rows: [MessageKey, string | Node | null][] = [
      ['field.direction', t(`direction.${c.direction}`)],
      ['field.state', t(`state.${c.state}`)],
      ['field.disposition', c.disposition ? t(`disposition.${c.disposition}` as MessageKey) : '—'],
      ['field.missed', c.missed ? t('form.yes') : t('form.no')],
      [
        'field.number',
        c.externalNumber ? formatPhone(c.externalNumber) : c.direction === 'internal' ? '—' : (c.externalNumberRaw ?? t('number.withheld')),
      ],
      ['field.numberRaw', c.externalNumberRaw ?? '—'],
      ['field.trackingNumber', c.trackingNumber ? formatPhone(c.trackingNumber) : '—'],
      ['field.contact', c.contact ? h('a', { href: `#/contacts/${c.contact.id}` }, c.contact.name) : t(`match.${c.contactMatch}`)],
      ['field.organization', c.organization ? h('a', { href: `#/organizations/${c.organization.id}` }, c.organization.name) : '—'],
      ['field.agent', agentLabel(c) || '—'],
      ['field.startedAt', time(c.startedAt)],
      ['field.answeredAt', time(c.answeredAt)],
      ['field.endedAt', time(c.endedAt)],
      ['calls.wait', formatSeconds(c.waitSeconds) || '—'],
      ['calls.talk', formatSeconds(c.talkSeconds) || '—'],
      ['field.duration', formatSeconds(c.durationSeconds) || '—'],
      ['field.hangupBy', c.hangupBy ? t(`hangup.${c.hangupBy}`) : '—'],
      ['field.endReason', c.endReason ? t(`endReason.${c.endReason}`) : '—'],
      ['field.pbxCallId', h('code', {}, c.pbxCallId)],
      [
        'field.related',
        c.relatedCallIds.length
          ? h(
              'span',
              {},
              c.relatedCallIds.map((rid, i) => [i ? ', ' : '', h('a', { href: `#/calls/${rid}` }, rid.slice(0, 8))]),
            )
          : '—',
      ],
    ];
    replace(
      facts,
      rows.map(([k, v]) => h('div', {}, h('dt', {}, t(k)), h('dd', {}, v))),
    );
    replace(legs, h('h2', {}, t('call.legs')), legsTimeline(me, c));
    renderRecording(c);
    annotate.update(c);
  };
  render(call);
  const off = live.onCall((c) => {
    if (c.id === id) render(c);
  });
  main.replaceChildren(
    h('p', { class: 'crumbs' }, h('a', { href: '#/history' }, t('nav.history')), ' / '),
    head,
    h(
      'div',
      { class: 'call-layout' },
      h('div', {}, h('section', { class: 'panel' }, h('h2', {}, t('call.details')), facts), legs, recording, reviewsBox),
      h('section', { class: 'panel' }, h('h2', {}, t('call.annotation')), annotate.el),
    ),
  );
  if (call.state === 'ended') void loadReviews();
  return () => {
    off();
    audio?.pause();
  };
};
