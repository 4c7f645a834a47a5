// "Suggested next" on the moderator console: the approved queue ranked by the session's
// floor ordering (GET /api/sessions/{id}/floor), each suggestion with its reasons, a switch
// between orderings (the `floor` command, so every moderator sees it) and a "Give the floor"
// button. A suggestion is advice: nothing happens until a moderator acts on it.

import { t, onLanguageChange } from './i18n.js';
import {
  h, fill, api, badge, kindLabel, originLabel, originKind, errorText, flash, formatDuration,
  dimensionLabel, groupLabel,
} from './ui.js';
import { shorten, backingText, authorName } from './audience.js';

export const ORDERINGS = ['arrival', 'votes', 'balanced', 'mics4_remote2', 'alternate'];
const SLOTS = ['government', 'civil_society', 'private_sector', 'technical_academic', 'remote', 'room'];
const REFRESH_DEBOUNCE_MS = 600;
const REFRESH_EVERY_MS = 60000; // waiting times and "not heard for" grow by the minute

/** "Women (Gender)": a group with the cut it belongs to, for a reason. */
function groupPhrase(params) {
  return t('reason.group', { group: groupLabel(params.dimension, params.group),
    dimension: dimensionLabel(params.dimension) });
}

/**
 * One reason in the reader's language, from its machine code and parameters (see
 * `describe()` in hub/domain/ordering.py); the server's English text for codes this page
 * does not know yet.
 */
export function reasonText(reason) {
  const p = reason.params || {};
  switch (reason.code) {
    case 'point_of_order': return t('reason.point_of_order');
    case 'arrival': return t('reason.arrival', { position: p.position });
    case 'waiting': return t('reason.waiting', { minutes: p.minutes });
    case 'votes': return t('reason.votes', { n: p.votes });
    case 'new_speaker': return t('reason.new_speaker');
    case 'first_speaker': return t('reason.first_speaker', { group: groupPhrase(p) });
    case 'not_heard_for': return t('reason.not_heard_for', { group: groupPhrase(p), minutes: p.minutes });
    case 'group_passed_over':
      return t('reason.group_passed_over', { group: groupPhrase(p), turns: p.turns });
    case 'slot':
      return t('reason.slot', { slot: SLOTS.includes(p.slot) ? t(`slot.${p.slot}`) : p.slot, round: p.round });
    case 'alternate': return t(p.side === 'room' ? 'reason.alternate_room' : 'reason.alternate_remote');
    case 'budget_spent':
      return t('reason.budget_spent', { group: groupLabel('stakeholder', p.group) });
    // The server names no one's declared group unless five people share it and the item
    // is not anonymous: these say "a group".
    case 'unheard_group': return t('reason.unheard_group');
    case 'quiet_group': return t('reason.quiet_group');
    case 'passed_over_group': return t('reason.passed_over_group');
    case 'group_budget_spent': return t('reason.group_budget_spent');
    default: return reason.text || reason.code;
  }
}

/**
 * The panel. `giveFloor(id)` puts an item on the floor (with the console's speaking time);
 * `top` is how many suggestions are shown.
 */
export function suggestionsPanel(client, { say, giveFloor, top = 5 } = {}) {
  const model = client.model;
  const select = h('select', { id: 'ordering', class: 'inline-select' });
  const help = h('p', { id: 'ordering-help', class: 'hint' });
  const message = h('p', { class: 'form-message', role: 'alert', hidden: true });
  const empty = h('p', { class: 'empty', dataset: { i18n: 'suggest.empty' } });
  const list = h('ol', { id: 'suggest-list', class: 'item-list suggest-list', 'aria-labelledby': 'suggest-title' });
  const budgets = h('div', { class: 'budgets', hidden: true });
  const root = h('section', { class: 'card suggest', id: 'suggest', 'aria-labelledby': 'suggest-title',
    'aria-describedby': 'suggest-advice' },
  h('div', { class: 'card-head' },
    h('h2', { id: 'suggest-title', dataset: { i18n: 'suggest.title' } }),
    h('div', { class: 'inline-field' },
      h('label', { for: 'ordering', class: 'inline-label', dataset: { i18n: 'suggest.ordering' } }), select)),
  help,
  h('p', { id: 'suggest-advice', class: 'hint', dataset: { i18n: 'suggest.advice' } }),
  message, empty, list, budgets);

  let answer = null;
  let seq = 0;
  let timer = 0;
  let ticker = 0;

  const current = () => (model.floorSettings && model.floorSettings.ordering) || 'arrival';

  const fillSelect = () => {
    fill(select, ORDERINGS.map((name) => h('option', { value: name }, t(`ordering.${name}`))));
    select.value = current();
    help.textContent = t(`ordering.${select.value}_help`);
  };

  const render = () => {
    const focused = document.activeElement && document.activeElement.dataset
      ? document.activeElement.dataset.suggest : null;
    const shown = answer ? answer.suggestions.filter((s) => {
      const item = model.items.get(s.item);
      return item && item.status === 'approved';
    }).slice(0, top) : [];
    fill(list, shown.map((s, index) => suggestionRow(s, index)));
    empty.hidden = !answer || shown.length > 0;
    const groups = answer ? Object.entries(answer.budgets || {}) : [];
    budgets.hidden = groups.length === 0;
    const budgetRow = ([group, b]) => h('li', { dataset: { over: b.used >= b.budget ? 'yes' : 'no' } },
      t('suggest.budget', { group: groupLabel('stakeholder', group), used: formatDuration(b.used),
        budget: formatDuration(b.budget) }));
    fill(budgets, groups.length
      ? [h('h3', {}, t('suggest.budgets')), h('ul', { class: 'budget-list' }, groups.map(budgetRow))] : []);
    if (focused) {
      const again = list.querySelector(`[data-suggest="${CSS.escape(focused)}"]`);
      if (again) again.focus();
    }
  };

  const suggestionRow = (s, index) => {
    const item = model.items.get(s.item);
    const label = shorten(item.text, 40);
    const give = h('button', { type: 'button', class: 'btn btn-sm btn-primary', dataset: { suggest: s.item },
      'aria-label': t('mod.live_label', { text: label }) }, t('mod.live'));
    give.addEventListener('click', () => giveFloor(s.item));
    return h('li', { class: 'item suggestion', dataset: { id: s.item } },
      h('div', { class: 'item-head' },
        h('span', { class: 'queue-pos', 'aria-hidden': 'true' }, String(index + 1)),
        badge(kindLabel(item.kind), `kind-${item.kind}`),
        badge(originLabel(item.origin), `origin-${originKind(item.origin)}`)),
      h('p', { class: 'item-text', dir: 'auto' }, item.text),
      h('p', { class: 'item-author' }, authorName(item)),
      item.backing ? h('p', { class: 'item-detail' }, backingText(item)) : null,
      h('ul', { class: 'reasons', 'aria-label': t('suggest.reasons') },
        s.reasons.map((r) => h('li', { dataset: { code: r.code } }, reasonText(r)))),
      h('div', { class: 'actions' }, give));
  };

  const load = async () => {
    window.clearTimeout(timer);
    timer = 0;
    if (!client.identity.token || !client.live) return;
    const mine = ++seq;
    const ordering = current();
    try {
      const path = `/api/sessions/${encodeURIComponent(client.sessionId)}/floor`;
      const body = await api('GET', `${path}?ordering=${encodeURIComponent(ordering)}`,
        { token: client.identity.token });
      if (mine !== seq) return; // a newer request is on its way
      answer = body;
      flash(message, '');
      render();
    } catch (error) {
      if (mine !== seq) return;
      flash(message, errorText(error), 'error');
    }
  };
  const refreshSoon = () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(load, REFRESH_DEBOUNCE_MS);
  };

  select.addEventListener('change', () => {
    const ordering = select.value;
    help.textContent = t(`ordering.${ordering}_help`);
    client.send('floor', { ordering }).then(() => {
      say(t('suggest.switched', { ordering: t(`ordering.${ordering}`) }));
    }, (error) => {
      select.value = current();
      help.textContent = t(`ordering.${select.value}_help`);
      flash(message, errorText(error), 'error');
    });
  });

  client.addEventListener('welcome', () => {
    fillSelect();
    load();
    window.clearInterval(ticker);
    ticker = window.setInterval(() => {
      if (document.visibilityState === 'visible') load();
    }, REFRESH_EVERY_MS);
  });
  client.addEventListener('update', (ev) => {
    const { kind } = ev.detail;
    if (kind === 'floor_settings') {
      fillSelect();
      load();
    } else if (kind === 'order' || kind === 'item' || kind === 'floor') {
      refreshSoon();
    }
  });
  onLanguageChange(() => {
    fillSelect();
    render();
  });
  fillSelect();
  return { root, load, select };
}
