// The report review on the session organizer's page: the draft of the session's report in
// the IGF template (up to three key takeaways, two calls to action, a short summary, the
// gender questions), prefilled from the generated report until it is first saved; Save
// draft, Publish (once the session is closed) and Withdraw (docs/protocol.md §21).

import { t, onLanguageChange } from './i18n.js';
import { h, $, $$, fill, api, bidi, errorText, flash } from './ui.js';

const STATUS_BADGES = { none: 'status-done', draft: 'status-pending', published: 'status-approved' };
const FIELD_FOCUS = {
  takeaways: '#review-takeaway-1', calls: '#review-call-1', summary: '#review-summary',
  gender: '#review-participants',
};

/** A whole number from 0 from an <input>: null when empty, NaN when it is not one. */
function count(input) {
  const raw = input.value.trim();
  if (!raw) return null;
  const n = Number(raw);
  return Number.isInteger(n) && n >= 0 && n <= 1000000 ? n : Number.NaN;
}

function labels() {
  for (const label of $$('[data-review-label]')) {
    label.textContent = t(label.dataset.reviewLabel, { n: label.dataset.n });
  }
}

/** Bind the review form of organizer.html to session `sessionId`, acting with `token`.
 * `say` announces; `refused()` is called when the link no longer works. */
export function startReview({ sessionId, token, say, refused }) {
  const card = $('#review-card');
  const form = $('#review-form');
  const message = $('#review-message');
  const takeaways = $$('textarea[name="takeaway"]', form);
  const calls = $$('textarea[name="call"]', form);
  const path = `/api/sessions/${encodeURIComponent(sessionId)}/review`;
  let current = null;
  let busy = false;

  const setBusy = (value) => {
    busy = value;
    form.setAttribute('aria-busy', String(value));
    for (const button of $$('button', form)) button.disabled = value;
  };

  function put(points, inputs) {
    inputs.forEach((input, i) => { input.value = points[i] || ''; });
  }

  function showForm(draft) {
    put(draft.takeaways, takeaways);
    put(draft.calls, calls);
    $('#review-summary').value = draft.summary || '';
    const g = draft.gender || {};
    $('#review-participants').value = g.participants ?? '';
    $('#review-women').value = g.women ?? '';
    const discussed = g.discussed === true ? 'yes' : g.discussed === false ? 'no' : 'unsaid';
    $(`#review-discussed-${discussed}`).checked = true;
    $('#review-how').value = g.how || '';
  }

  function same(a, b) {
    const pick = (r) => JSON.stringify([r.takeaways, r.calls, r.summary, r.gender]);
    return pick(a) === pick(b);
  }

  /** The state lines, in the reader's language, from the last answer. */
  function showState() {
    if (!current) return;
    $('#review-event').textContent = t('review.event', { title: bidi(current.event_title) });
    $('#review-status-text').textContent = t('review.status');
    const badge = $('#review-badge');
    badge.textContent = t(`review.status_${current.status}`);
    badge.className = `badge badge-${STATUS_BADGES[current.status] || 'status-done'}`;
    $('#review-closed').textContent = t(current.closed ? 'review.closed' : 'review.not_closed');
    const note = $('#review-note');
    if (!current.saved) note.textContent = t('review.prefilled');
    else if (current.published && !same(current.draft, current.published)) {
      note.textContent = t('review.unpublished_changes');
    } else note.textContent = '';
    note.hidden = !note.textContent;
    $('#review-withdraw').hidden = current.status !== 'published';
    const flagged = [...current.flagged.takeaways.map((text) => [t('review.takeaways'), text]),
      ...current.flagged.calls.map((text) => [t('review.calls'), text])];
    fill($('#review-flagged'), flagged.length
      ? flagged.map(([kind, text]) => h('li', {}, h('span', { class: 'hint' }, `${kind}: `), text))
      : h('li', { class: 'hint' }, t('review.flagged_empty')));
  }

  function show(answer, { form: refill = true } = {}) {
    current = answer;
    if (refill) showForm(answer.draft);
    showState();
  }

  /** The form as the API takes it; null (with the message shown) when a number is wrong. */
  function collect() {
    const participants = count($('#review-participants'));
    const women = count($('#review-women'));
    for (const [value, id] of [[participants, '#review-participants'], [women, '#review-women']]) {
      if (Number.isNaN(value)) {
        flash(message, t('review.whole_number'), 'error');
        $(id).focus();
        return null;
      }
    }
    if (participants !== null && women !== null && women > participants) {
      flash(message, t('review.women_more'), 'error');
      $('#review-women').focus();
      return null;
    }
    const chosen = form.querySelector('input[name="review-discussed"]:checked');
    const discussed = chosen && chosen.value === 'yes' ? true : chosen && chosen.value === 'no' ? false : null;
    return {
      takeaways: takeaways.map((input) => input.value.trim()).filter(Boolean),
      calls: calls.map((input) => input.value.trim()).filter(Boolean),
      summary: $('#review-summary').value.trim(),
      gender: { participants, women, discussed, how: $('#review-how').value.trim() },
    };
  }

  function refusal(error) {
    if (error.status === 401) {
      refused();
      return;
    }
    if (error.status === 404) {
      flash(message, t('review.no_event'), 'error');
      return;
    }
    const known = error.field && FIELD_FOCUS[error.field];
    let text = errorText(error);
    if (known) text = t(`review.invalid_${error.field}`);
    else if (error.status === 409 && /not closed/.test(error.message || '')) text = t('review.not_closed');
    else if (error.status === 400 && /takeaway/.test(error.message || '')) text = t('review.need_takeaway');
    flash(message, text, 'error');
    if (known) $(FIELD_FOCUS[error.field]).focus();
  }

  async function send(method, suffix, body, done) {
    if (busy) return;
    setBusy(true);
    try {
      const answer = await api(method, path + suffix, { token, body });
      show(answer);
      flash(message, t(done), 'ok');
      say(t(done));
    } catch (error) {
      refusal(error);
    } finally {
      setBusy(false);
    }
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const body = collect();
    if (body) send('PUT', '', body, 'review.saved');
  });
  $('#review-publish').addEventListener('click', () => {
    const body = collect();
    if (!body) return;
    if (!body.takeaways.length) {
      flash(message, t('review.need_takeaway'), 'error');
      takeaways[0].focus();
      return;
    }
    send('POST', '/publish', body, 'review.published');
  });
  $('#review-withdraw').addEventListener('click', () => {
    send('DELETE', '/publish', undefined, 'review.withdrawn').then(() => $('#review-publish').focus());
  });

  async function load({ refill = true } = {}) {
    try {
      show(await api('GET', path, { token }), { form: refill });
      card.hidden = false;
    } catch (error) {
      card.hidden = error.status === 404; // a session of no event has no report to publish here
      if (error.status !== 404) refusal(error);
    }
  }

  // The session's state changed on this page (closed, say): the lines about it follow,
  // and what is being typed stays.
  document.addEventListener('session-state', (ev) => {
    if (ev.detail && ev.detail.id === sessionId) load({ refill: false });
  });
  onLanguageChange(() => {
    labels();
    showState();
  });
  labels();
  flash(message, '');
  return load();
}
