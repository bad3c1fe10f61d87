import { api, ApiError } from '../api';
import { h, options } from '../dom';
import { t } from '../i18n';
import { outcomeLabel, session } from '../session';
import type { CallRecordDto } from '../types';
import { TOPICS_LIST_ID } from './topics';

/**
 * Topic (free text with suggestions), outcome (the admin list), notes; saved with PATCH
 * /api/calls/:id. A newer record from the socket refreshes the fields the user has not touched.
 */
export class AnnotateForm {
  readonly el: HTMLFormElement;
  private readonly topic: HTMLInputElement;
  private readonly outcome: HTMLSelectElement;
  private readonly notes: HTMLTextAreaElement;
  private readonly status: HTMLElement;
  private readonly save: HTMLButtonElement;
  private call: CallRecordDto;
  private dirty = false;

  constructor(call: CallRecordDto, o: { compact?: boolean } = {}) {
    this.call = call;
    const id = `a-${call.id.slice(0, 8)}`;
    this.topic = h('input', {
      id: `${id}-topic`,
      name: 'topic',
      list: TOPICS_LIST_ID,
      maxlength: 500,
      autocomplete: 'off',
      placeholder: t('annotate.topicHint'),
    });
    this.outcome = h('select', { id: `${id}-outcome`, name: 'outcome' });
    this.notes = h('textarea', {
      id: `${id}-notes`,
      name: 'notes',
      rows: o.compact ? 2 : 4,
      maxlength: 10000,
      placeholder: t('annotate.notesHint'),
    });
    this.status = h('span', { class: 'form-status', role: 'status', 'aria-live': 'polite' });
    this.save = h('button', { type: 'submit', class: 'primary' }, t('annotate.save'));
    this.el = h(
      'form',
      { class: `annotate${o.compact ? ' compact' : ''}`, 'data-testid': 'annotate', onsubmit: (e: Event) => void this.submit(e) },
      h('label', { for: this.topic.id }, t('annotate.topic')),
      this.topic,
      h('label', { for: this.outcome.id }, t('annotate.outcome')),
      this.outcome,
      h('label', { for: this.notes.id }, t('annotate.notes')),
      this.notes,
      h('div', { class: 'form-actions' }, this.save, this.status),
    );
    for (const input of [this.topic, this.outcome, this.notes]) {
      input.addEventListener('input', () => {
        this.dirty = true;
        this.status.textContent = '';
      });
    }
    this.notes.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) this.el.requestSubmit();
    });
    this.fill(call);
  }

  /** A newer record arrived: show it unless the user is editing. */
  update(call: CallRecordDto): void {
    this.call = call;
    if (!this.dirty) this.fill(call);
  }

  private fill(call: CallRecordDto): void {
    const outcomes = session().outcomes;
    const list = outcomes.map((x) => ({ value: x.id, label: outcomeLabel(x) }));
    // an outcome deactivated since it was chosen is still shown
    if (call.outcome && !outcomes.some((x) => x.id === call.outcome!.id)) list.push({ value: call.outcome.id, label: call.outcome.name });
    this.outcome.replaceChildren(...options([{ value: '', label: t('annotate.noOutcome') }, ...list], call.outcome?.id ?? ''));
    this.topic.value = call.topic ?? '';
    this.notes.value = call.notes ?? '';
  }

  private async submit(e: Event): Promise<void> {
    e.preventDefault();
    this.save.disabled = true;
    this.status.className = 'form-status';
    this.status.textContent = t('form.saving');
    try {
      const updated = await api.annotate(this.call.id, {
        topic: this.topic.value.trim() || null,
        outcome: this.outcome.value || null,
        notes: this.notes.value.trim() || null,
      });
      this.dirty = false;
      session().live.apply(updated);
      this.update(updated);
      this.status.textContent = t('form.saved');
      this.status.classList.add('ok');
    } catch (err) {
      this.status.textContent = err instanceof ApiError ? err.message : String(err);
      this.status.classList.add('error');
    } finally {
      this.save.disabled = false;
    }
  }
}
