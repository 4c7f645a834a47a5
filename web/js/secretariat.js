// The Secretariat's dashboard of an event: sign in with the admin key (kept in this tab
// only, shared with the organizer console, sent in the Authorization header, never in a
// URL), pick an event, see every session's report state and days since it closed, the
// completion rates per day and track, and download the reminders (CSV) to nudge organizers.

import { storedAdminKey, storeAdminKey } from './admin-key.js';
import { t, onLanguageChange, currentLanguage } from './i18n.js';
import {
  h, $, fill, api, bootPage, languagePicker, announcer, errorText, flash, formatDuration,
  dimensionLabel, groupLabel,
} from './ui.js';

bootPage('page.secretariat');
const say = announcer();
$('#tools').append(languagePicker());

const REPORTS = ['none', 'draft', 'published'];
// The sessions table: [column, key of its header, how a row sorts on it].
const COLUMNS = [
  ['title', 'sec.col_session', (r) => r.title.toLocaleLowerCase()],
  ['day', 'sec.col_day', (r) => `${r.day} ${String(r.start).padStart(15, '0')}`],
  ['track', 'sec.col_track', (r) => r.track.toLocaleLowerCase()],
  ['room', 'sec.col_room', (r) => r.room.toLocaleLowerCase()],
  ['kind', 'sec.col_kind', (r) => r.kind.toLocaleLowerCase()],
  ['organizers', 'sec.col_organizers', (r) => (r.organizers[0] ? r.organizers[0].name.toLocaleLowerCase() : '')],
  ['state', 'sec.col_state', (r) => ['scheduled', 'live', 'closed'].indexOf(r.state)],
  ['report', 'sec.col_report', (r) => REPORTS.indexOf(r.report)],
  ['days', 'sec.col_days', (r) => (r.days_since_closed === null ? -1 : r.days_since_closed)],
];

let key = storedAdminKey();
let board = null;
let figures = null; // GET /api/events/{id}/figures: every cut's tables as of `as_of`
let sort = { column: 'day', descending: false };

function setKey(value) {
  storeAdminKey(value);
  key = value;
}

function showSignedIn(signedIn) {
  $('#signin').hidden = signedIn;
  $('#sec-app').hidden = !signedIn;
}

function signedOut() {
  setKey(null);
  board = null;
  showSignedIn(false);
  flash($('#signin-message'), t('org.key_wrong'), 'error');
  $('#admin-key').focus();
}

$('#signin-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const value = $('#admin-key').value.trim();
  const message = $('#signin-message');
  if (!value) {
    flash(message, t('org.key_needed'), 'error');
    return;
  }
  try {
    await checkKey(value);
    setKey(value);
    $('#admin-key').value = '';
    flash(message, '');
    showSignedIn(true);
    await loadEvents();
    $('#page-title').focus();
  } catch (error) {
    flash(message, error.status === 401 || error.status === 403 ? t('org.key_wrong') : errorText(error), 'error');
  }
});

/** Throws 401/403 unless `value` is the admin key: asks for an event's dashboard (only the
 * admin key reads one), or, on a hub with no event yet, for the list of sessions. */
async function checkKey(value) {
  const { events = [] } = await api('GET', '/api/events');
  const wanted = events.find((e) => e.id === wantedEvent()) || events[0];
  if (wanted) await api('GET', `/api/events/${encodeURIComponent(wanted.id)}/dashboard`, { token: value });
  else await api('GET', '/api/sessions', { token: value });
}

$('#signout').addEventListener('click', () => {
  setKey(null);
  board = null;
  fill($('#sessions-body'));
  showSignedIn(false);
  $('#admin-key').focus();
});

// ---------------------------------------------------------------- the event

/** The event chosen: `?event=` in the address (a bookmark), else the first one. */
function wantedEvent() {
  return new URLSearchParams(window.location.search).get('event');
}

async function loadEvents() {
  const select = $('#event');
  try {
    const body = await api('GET', '/api/events', { token: key });
    const events = body.events || [];
    fill(select, events.map((e) => h('option', { value: e.id, text: `${e.title} (\u2066${e.start} – ${e.end}\u2069)` })));
    $('#events-empty').hidden = events.length > 0;
    select.disabled = !events.length;
    const wanted = wantedEvent();
    if (wanted && events.some((e) => e.id === wanted)) select.value = wanted;
    if (events.length) await loadBoard();
    else $('#board').hidden = true;
  } catch (error) {
    if (error.status === 401 || error.status === 403) signedOut();
    else flash($('#board-message'), errorText(error), 'error');
  }
}

$('#event').addEventListener('change', () => {
  const url = new URL(window.location.href);
  url.searchParams.set('event', $('#event').value);
  window.history.replaceState(null, '', url);
  loadBoard();
});
$('#refresh').addEventListener('click', () => loadBoard());

async function loadBoard() {
  const id = $('#event').value;
  if (!id) return;
  try {
    board = await api('GET', `/api/events/${encodeURIComponent(id)}/dashboard`, { token: key });
    flash($('#board-message'), '');
    fillFilters();
    render();
    $('#board').hidden = false;
    $('#board-status').textContent = t('sec.loaded', { title: board.event.title });
  } catch (error) {
    if (error.status === 401 || error.status === 403) signedOut();
    else flash($('#board-message'), errorText(error), 'error');
    return;
  }
  await loadFigures(id);
}

async function loadFigures(id) {
  const path = `/api/events/${encodeURIComponent(id)}/figures`;
  $('#figures-csv').href = `${path}?format=csv`;
  try {
    figures = await api('GET', path);
    flash($('#figures-message'), '');
    fillFigureChoices();
    renderFigures();
    $('#figures-body').hidden = false;
  } catch (error) {
    figures = null;
    $('#figures-body').hidden = true;
    flash($('#figures-message'), errorText(error), 'error');
  }
}

// ---------------------------------------------------------------- rendering

const number = (n) => new Intl.NumberFormat(currentLanguage()).format(n);
const percent = (rate) => (rate === null ? t('sec.rate_none')
  : new Intl.NumberFormat(currentLanguage(), { style: 'percent', maximumFractionDigits: 0 }).format(rate));

function dayLabel(day) {
  try {
    return new Intl.DateTimeFormat(currentLanguage(), { weekday: 'short', day: 'numeric', month: 'short', timeZone: 'UTC' })
      .format(new Date(`${day}T12:00:00Z`));
  } catch {
    return day;
  }
}

const trackLabel = (track) => track || t('sec.no_track');
const reportLabel = (report) => t(`sec.report_${report}`);
const stateLabel = (state) => t(`session.state_${state}`);

function render() {
  if (!board) return;
  renderSummary();
  renderRates();
  renderSessions();
}

function renderSummary() {
  const { counts, rates } = board;
  const entries = [
    ['sec.count_sessions', number(counts.sessions)],
    ['sec.count_closed', number(counts.states.closed)],
    ['sec.count_published', number(counts.reports.published)],
    ['sec.count_draft', number(counts.reports.draft)],
    ['sec.count_none', number(counts.reports.none)],
    ['sec.rate_overall', percent(rates.overall.rate)],
  ];
  fill($('#summary'), entries.map(([label, value]) => h('div', { class: 'sec-stat' },
    h('dt', {}, t(label)), h('dd', {}, value))));
  $('#as-of').textContent = t('sec.as_of', { time: new Intl.DateTimeFormat(currentLanguage(),
    { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(board.now)) });
  $('#reminders-help').textContent = t('sec.reminders_help', { n: number(counts.reminders) });
  $('#reminders').disabled = counts.reminders === 0;
}

/** A rates table: one row per day (or track), a bar for the rate, a total row. */
function ratesTable(captionKey, headKey, rows, label) {
  const bar = (rate) => (rate === null ? null
    : h('progress', { class: 'sec-bar', max: '100', value: String(Math.round(rate * 100)), 'aria-hidden': 'true' }));
  const cells = (r) => [h('td', {}, number(r.sessions)), h('td', {}, number(r.closed)),
    h('td', {}, number(r.published)),
    h('td', { class: 'sec-rate' }, h('span', {}, percent(r.rate)), bar(r.rate))];
  const overall = board.rates.overall;
  return h('table', { class: 'figures sec-rate-table' },
    h('caption', {}, t(captionKey)),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, t(headKey)), h('th', { scope: 'col' }, t('sec.col_sessions')),
      h('th', { scope: 'col' }, t('sec.col_closed')), h('th', { scope: 'col' }, t('sec.col_published')),
      h('th', { scope: 'col' }, t('sec.col_rate')))),
    h('tbody', {}, rows.map((r) => h('tr', {}, h('th', { scope: 'row' }, h('bdi', {}, label(r))), cells(r)))),
    h('tfoot', {}, h('tr', {}, h('th', { scope: 'row' }, t('sec.total')), cells(overall))));
}

function renderRates() {
  fill($('#rates-days'), ratesTable('sec.rates_days', 'sec.col_day', board.rates.days, (r) => dayLabel(r.day)));
  fill($('#rates-tracks'), ratesTable('sec.rates_tracks', 'sec.col_track', board.rates.tracks, (r) => trackLabel(r.track)));
}

const ALL = '*'; // the "all" choice of a filter ('' is a real track: none given)

function options(select, values, label) {
  const kept = select.value;
  fill(select, h('option', { value: ALL, text: t('sec.all') }),
    values.map((v) => h('option', { value: v, text: label(v) })));
  select.value = values.includes(kept) ? kept : ALL;
}

function fillFilters() {
  const days = board.rates.days.map((d) => d.day);
  const tracks = board.rates.tracks.map((d) => d.track);
  options($('#filter-day'), days, dayLabel);
  options($('#filter-track'), tracks, trackLabel);
  options($('#filter-report'), REPORTS, reportLabel);
}

for (const id of ['#filter-day', '#filter-track', '#filter-report']) {
  $(id).addEventListener('change', () => renderSessions());
}
$('#filters').addEventListener('submit', (ev) => ev.preventDefault());

function shown() {
  const day = $('#filter-day').value;
  const track = $('#filter-track').value;
  const report = $('#filter-report').value;
  const rows = board.sessions.filter((r) => (day === ALL || r.day === day)
    && (track === ALL || r.track === track) && (report === ALL || r.report === report));
  const [, , by] = COLUMNS.find(([name]) => name === sort.column);
  const order = sort.descending ? -1 : 1;
  return rows.map((r, i) => [r, i]).sort(([a, i], [b, j]) => {
    const x = by(a);
    const y = by(b);
    if (x < y) return -order;
    if (x > y) return order;
    return i - j;
  }).map(([r]) => r);
}

function header() {
  return COLUMNS.map(([name, labelKey]) => {
    const active = sort.column === name;
    const button = h('button', { type: 'button', class: 'sec-sort', dataset: { column: name } }, t(labelKey),
      h('span', { class: 'sec-sort-mark', 'aria-hidden': 'true' }, active ? (sort.descending ? '▼' : '▲') : ''));
    button.addEventListener('click', () => {
      sort = { column: name, descending: active ? !sort.descending : false };
      renderSessions();
      const again = document.querySelector(`.sec-sort[data-column="${name}"]`);
      if (again) again.focus();
      say(t(sort.descending ? 'sec.sorted_down' : 'sec.sorted_up', { column: t(labelKey) }));
    });
    return h('th', { scope: 'col', 'aria-sort': active ? (sort.descending ? 'descending' : 'ascending') : null }, button);
  });
}

function sessionRow(r) {
  const link = h('a', { href: r.page }, h('bdi', {}, r.title));
  const organizers = r.organizers.map((o) => h('li', {}, h('bdi', {}, o.name),
    o.email ? [' ', h('a', { href: `mailto:${o.email}`, class: 'sec-email', dir: 'ltr' }, o.email)] : null));
  const days = r.days_since_closed === null ? '—' : t('sec.days', { n: number(r.days_since_closed) });
  return h('tr', { dataset: { session: r.session, report: r.report, state: r.state } },
    h('th', { scope: 'row', class: 'sec-title' }, link),
    h('td', {}, dayLabel(r.day)),
    h('td', {}, h('bdi', {}, trackLabel(r.track))),
    h('td', {}, h('bdi', {}, r.room)),
    h('td', {}, h('bdi', {}, r.kind)),
    h('td', { class: 'sec-organizers' }, organizers.length ? h('ul', {}, organizers) : '—'),
    h('td', {}, h('span', { class: 'session-state', dataset: { state: r.state } }, stateLabel(r.state))),
    h('td', {}, h('span', { class: `badge sec-report sec-report-${r.report}` }, reportLabel(r.report))),
    h('td', { class: 'sec-days' }, days));
}

function renderSessions() {
  if (!board) return;
  const rows = shown();
  fill($('#sessions-head'), header());
  fill($('#sessions-body'), rows.map(sessionRow));
  $('#sessions-empty').hidden = rows.length > 0;
  $('#sessions').hidden = rows.length === 0;
  $('#sessions-count').textContent = t('sec.showing', { n: number(rows.length), total: number(board.sessions.length) });
}

// ---------------------------------------------------------------- the reminders

/** Fetch the CSV with the key in a header (never in a URL) and save it as a file. */
$('#reminders').addEventListener('click', async () => {
  const message = $('#reminders-message');
  const id = $('#event').value;
  try {
    const response = await fetch(`/api/events/${encodeURIComponent(id)}/reminders.csv`,
      { headers: { Authorization: `Bearer ${key}` }, cache: 'no-store', credentials: 'omit' });
    if (!response.ok) {
      const data = await response.json().catch(() => null);
      throw { status: response.status, ...((data && data.error) || { code: `http_${response.status}` }) };
    }
    const disposition = response.headers.get('Content-Disposition') || '';
    const match = disposition.match(/filename="?([^";]+)"?/);
    const name = match ? match[1] : `${id}-reminders.csv`;
    const url = URL.createObjectURL(await response.blob());
    const anchor = h('a', { href: url, download: name, class: 'sr-only' });
    document.body.append(anchor);
    anchor.click();
    anchor.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 10000);
    flash(message, t('org.downloaded', { name }), 'ok');
  } catch (error) {
    if (error.status === 401 || error.status === 403) signedOut();
    else flash(message, errorText(error), 'error');
  }
});

// ---------------------------------------------------------------- the event's figures

const FIGURE_DIMENSIONS = ['stakeholder', 'region', 'economy', 'gender', 'youth', 'origin'];

/** Every cut of the figures: the event, each day, each track (sessions: on their pages). */
function figureCuts() {
  const tracks = [...figures.tracks].sort((a, b) => trackLabel(a.key).localeCompare(trackLabel(b.key), currentLanguage()));
  return [figures.event, ...figures.days, ...tracks];
}

const cutValue = (cut) => `${cut.kind}:${cut.key}`;

function cutLabel(cut) {
  if (cut.kind === 'event') return t('sec.fig_event');
  if (cut.kind === 'day') return t('sec.fig_day', { day: dayLabel(cut.key) });
  return t('sec.fig_track', { track: trackLabel(cut.key) });
}

function fillFigureChoices() {
  const cutSelect = $('#figures-cut');
  const keptCut = cutSelect.value;
  fill(cutSelect, figureCuts().map((cut) => h('option', { value: cutValue(cut) }, cutLabel(cut))));
  if (figureCuts().some((cut) => cutValue(cut) === keptCut)) cutSelect.value = keptCut;
  const by = $('#figures-by');
  const keptBy = by.value || 'stakeholder';
  fill(by, FIGURE_DIMENSIONS.map((d) => h('option', { value: d }, dimensionLabel(d))));
  by.value = keptBy;
}

function figureText(value, measure) {
  if (value === null || value === undefined) return t('sec.fig_suppressed');
  return measure === 'seconds' ? formatDuration(value) : number(value);
}

const pick = (cut, section, dimension) => (cut[section] || []).find((tb) => tb.dimension === dimension) || null;

/** A figures table: a row per group, a column per measure ({label, table}), a total row.
 * Suppressed cells say so (in the reader's language), never show a number. */
function figuresTable(caption, dimension, columns) {
  const groups = [];
  for (const { table } of columns) {
    for (const cell of (table && table.cells) || []) if (!groups.includes(cell.group)) groups.push(cell.group);
  }
  const cellOf = (table, group) => (table && table.cells.find((c) => c.group === group)) || null;
  const td = (table, cell) => h('td', { dataset: { suppressed: cell && cell.suppressed ? 'yes' : 'no' } },
    cell ? figureText(cell.value, table.measure) : '–');
  return h('table', { class: 'figures' },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, dimensionLabel(dimension)),
      columns.map(({ label }) => h('th', { scope: 'col' }, label)))),
    h('tbody', {}, groups.length ? groups.map((group) => h('tr', {},
      h('th', { scope: 'row' }, h('bdi', {}, groupLabel(dimension, group))),
      columns.map(({ table }) => td(table, cellOf(table, group)))))
      : h('tr', {}, h('td', { colspan: String(columns.length + 1), class: 'empty' }, t('stats.nobody')))),
    h('tfoot', {}, h('tr', {}, h('th', { scope: 'row' }, t('stats.total')),
      columns.map(({ table }) => h('td', { dataset: { suppressed: table && table.total_suppressed ? 'yes' : 'no' } },
        table ? figureText(table.total, table.measure) : '–')))));
}

/** A bar chart of one people table: an image whose name reads every figure; the bars
 * themselves are decoration (the table below holds the same figures). */
function barChart(title, dimension, table) {
  if (!table) return null;
  const cells = table.cells.filter((c) => c.suppressed || c.value);
  const top = Math.max(1, ...cells.map((c) => c.value || 0));
  const described = cells.map((c) => `${groupLabel(dimension, c.group)}: ${figureText(c.value, table.measure)}`);
  return h('figure', { class: 'sec-chart', role: 'img', 'aria-label': `${title}. ${described.join('; ') || t('stats.nobody')}` },
    h('figcaption', { 'aria-hidden': 'true' }, title),
    h('div', { class: 'sec-chart-bars', 'aria-hidden': 'true' }, cells.map((c) => h('div', { class: 'sec-chart-row' },
      h('span', { class: 'sec-chart-label' }, h('bdi', {}, groupLabel(dimension, c.group))),
      c.value === null ? h('span', { class: 'sec-chart-suppressed' }, t('sec.fig_suppressed'))
        : h('progress', { max: String(top), value: String(c.value) }),
      h('span', { class: 'sec-chart-value' }, c.value === null ? '' : figureText(c.value, table.measure))))));
}

function renderFigures() {
  if (!figures) return;
  const chosen = figureCuts().find((cut) => cutValue(cut) === $('#figures-cut').value) || figures.event;
  const d = $('#figures-by').value || 'stakeholder';
  const columns = [
    { label: t('stats.participants'), table: pick(chosen, 'participants', d) },
    { label: t('stats.speakers'), table: pick(chosen, 'speakers', d) },
    { label: t('stats.speaking_time'), table: pick(chosen, 'speaking_time', d) },
  ];
  if (pick(chosen, 'remote', d)) columns.push({ label: t('sec.fig_remote'), table: pick(chosen, 'remote', d) });
  const name = cutLabel(chosen);
  fill($('#figures-attendance'), figuresTable(t('sec.fig_attendance', { cut: name }), 'attendance',
    [{ label: t('stats.people'), table: chosen.attendance }]));
  fill($('#figures-table'), figuresTable(t('sec.fig_by', { cut: name, by: dimensionLabel(d) }), d, columns));
  fill($('#figures-charts'),
    barChart(t('sec.fig_attendance', { cut: name }), 'attendance', chosen.attendance),
    barChart(t('sec.fig_participants_by', { by: dimensionLabel(d) }), d, pick(chosen, 'participants', d)));
  $('#figures-as-of').textContent = t('sec.as_of', { time: new Intl.DateTimeFormat(currentLanguage(),
    { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(figures.as_of)) });
}

$('#figures-cut').addEventListener('change', renderFigures);
$('#figures-by').addEventListener('change', renderFigures);

onLanguageChange(() => {
  if (!board) return;
  fillFilters();
  render();
  if (figures) {
    fillFigureChoices();
    renderFigures();
  }
});

if (key) {
  showSignedIn(true);
  loadEvents();
} else {
  showSignedIn(false);
}
