// Participation figures on the moderator console (GET /api/sessions/{id}/stats):
// attendance, hubs, and participants, speakers and speaking time by each profile cut.
// Figures are aggregate and small groups come suppressed ("fewer than 5"). The server
// computes them as of a cut-off (every few minutes, `as_of`), never on each join: two
// snapshots a moment apart could single out the one person who just joined. The panel
// asks again on a slow timer while it is open and the page visible, and says "As of HH:MM".

import { t, onLanguageChange } from './i18n.js';
import {
  h, fill, api, errorText, flash, formatDuration, formatTime, dimensionLabel, groupLabel,
} from './ui.js';

const REFRESH_MS = 30000;
const CUTS = ['stakeholder', 'region', 'economy', 'gender', 'youth', 'origin', 'country'];

function cellText(cell, measure) {
  if (cell.suppressed) return t('stats.suppressed');
  if (cell.value === null || cell.value === undefined) return '–';
  return measure === 'seconds' ? formatDuration(cell.value) : String(cell.value);
}

function totalText(table) {
  if (!table) return '–';
  if (table.total_suppressed) return t('stats.total_hidden');
  return table.measure === 'seconds' ? formatDuration(table.total) : String(table.total ?? '–');
}

/**
 * One table: rows are groups, columns are the measures given (each a stats table), in a
 * box that scrolls sideways (and takes the focus, so the keyboard can scroll it) when the
 * column is narrow. `all` keeps groups that nobody is in.
 */
function figuresTable(id, caption, dimension, columns, { all = false } = {}) {
  const groups = [];
  for (const { table } of columns) {
    for (const cell of (table && table.cells) || []) {
      if (!groups.includes(cell.group)) groups.push(cell.group);
    }
  }
  // Leave out groups nobody is in (zero everywhere, nothing hidden): the table stays short.
  const shown = all ? groups : groups.filter((group) => columns.some(({ table }) => {
    const cell = table && table.cells.find((c) => c.group === group);
    return cell && (cell.suppressed || cell.value);
  }));
  const cellOf = (table, group) => (table && table.cells.find((c) => c.group === group)) || null;
  const table = h('table', { class: 'figures', id },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, dimensionLabel(dimension)),
      columns.map(({ label }) => h('th', { scope: 'col' }, label)))),
    h('tbody', {},
      shown.length ? shown.map((group) => h('tr', {},
        h('th', { scope: 'row', dir: 'auto' }, groupLabel(dimension, group)),
        columns.map(({ table }) => {
          const cell = cellOf(table, group);
          return h('td', { dataset: { suppressed: cell && cell.suppressed ? 'yes' : 'no' } },
            cell ? cellText(cell, table.measure) : '–');
        })))
        : h('tr', {}, h('td', { colspan: String(columns.length + 1), class: 'empty' }, t('stats.nobody')))),
    h('tfoot', {}, h('tr', {}, h('th', { scope: 'row' }, t('stats.total')),
      columns.map(({ table: tb }) => h('td', {}, totalText(tb))))));
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'group', 'aria-label': caption }, table);
}

export function statsPanel(client) {
  const body = h('div', { class: 'stats-body' });
  const cut = h('select', { id: 'stats-cut', class: 'inline-select' });
  const updated = h('p', { class: 'hint', id: 'stats-updated' });
  const message = h('p', { class: 'form-message', role: 'alert', hidden: true });
  const refresh = h('button', { type: 'button', class: 'btn btn-sm', dataset: { i18n: 'stats.refresh' } });
  const root = h('details', { class: 'card stats', id: 'stats' },
    h('summary', {}, h('span', { id: 'stats-title', dataset: { i18n: 'stats.title' } })),
    h('div', { class: 'stats-inner', role: 'region', 'aria-labelledby': 'stats-title' },
      h('p', { class: 'hint', dataset: { i18n: 'stats.help_cutoff' } }),
      h('div', { class: 'actions' }, refresh, updated),
      message,
      h('div', { class: 'stats-tables' }, body),
      h('div', { class: 'inline-field' },
        h('label', { for: 'stats-cut', class: 'inline-label', dataset: { i18n: 'stats.by' } }), cut),
      h('div', { id: 'stats-cut-table' })));
  let figures = null;
  let fetchedAt = 0; // when the panel last asked (for the timer)
  let timer = 0;
  let busy = false;

  const fillCuts = () => {
    const keep = cut.value || 'stakeholder';
    fill(cut, CUTS.map((d) => h('option', { value: d }, dimensionLabel(d))));
    cut.value = keep;
  };

  const pick = (section, dimension) => (figures[section] || []).find((tb) => tb.dimension === dimension) || null;

  const render = () => {
    if (!figures) return;
    fill(body,
      figuresTable('stats-attendance', t('stats.attendance'), 'attendance',
        [{ label: t('stats.people'), table: figures.attendance }], { all: true }),
      figures.hubs && figures.hubs.cells.length
        ? figuresTable('stats-hubs', t('stats.hubs'), 'hub', [{ label: t('stats.people'), table: figures.hubs }])
        : null);
    const d = cut.value || 'stakeholder';
    const caption = t('stats.by_caption', { cut: dimensionLabel(d) });
    fill(root.querySelector('#stats-cut-table'), figuresTable('stats-by', caption, d, [
      { label: t('stats.participants'), table: pick('participants', d) },
      { label: t('stats.speakers'), table: pick('speakers', d) },
      { label: t('stats.speaking_time'), table: pick('speaking_time', d) },
    ]));
    updated.textContent = t('stats.updated', { time: formatTime(figures.as_of || fetchedAt) });
  };

  const load = async () => {
    if (busy || !client.identity.token) return;
    busy = true;
    try {
      figures = await api('GET', `/api/sessions/${encodeURIComponent(client.sessionId)}/stats`,
        { token: client.identity.token });
      fetchedAt = Date.now();
      flash(message, '');
      render();
    } catch (error) {
      flash(message, errorText(error), 'error');
    } finally {
      busy = false;
    }
  };

  const schedule = () => {
    window.clearInterval(timer);
    timer = 0;
    if (!root.open || document.visibilityState !== 'visible') return;
    if (Date.now() - fetchedAt > REFRESH_MS / 2) load();
    timer = window.setInterval(() => {
      if (root.open && document.visibilityState === 'visible') load();
    }, REFRESH_MS);
  };

  root.addEventListener('toggle', schedule);
  document.addEventListener('visibilitychange', schedule);
  refresh.addEventListener('click', load);
  cut.addEventListener('change', render);
  onLanguageChange(() => {
    fillCuts();
    render();
  });
  fillCuts();
  return { root, load };
}
