// A regional or national hub's event page (/e/{event}/hub#token=…): the sessions its one
// link opens, by day, with their state, and a button to each session's hub page (the same
// link: the token rides along in the fragment, so it never reaches a server's logs).

import { t, currentLanguage, onLanguageChange } from './i18n.js';
import {
  h, $, fill, api, bootPage, languagePicker, flash, fatalText, errorText, bidi,
} from './ui.js';

bootPage('page.event_hub');
$('#tools').append(languagePicker());

const match = window.location.pathname.match(/^\/e\/([^/]+)\/hub\/?$/);
const eventId = match ? decodeURIComponent(match[1]) : null;
const token = new URLSearchParams(window.location.hash.replace(/^#/, '')).get('token');
let view = null;

function format(ms, options, timeZone) {
  try {
    return new Intl.DateTimeFormat(currentLanguage(), { ...options, timeZone }).format(new Date(ms));
  } catch {
    return new Date(ms).toISOString();
  }
}

/** A day of the event (YYYY-MM-DD, the event's own calendar) as the reader says it. */
function dayName(day) {
  const [y, m, d] = day.split('-').map(Number);
  return format(Date.UTC(y, m - 1, d, 12), { weekday: 'long', day: 'numeric', month: 'long' }, 'UTC');
}

function sessionCard(session, zone) {
  const clock = { hour: '2-digit', minute: '2-digit' };
  const titleId = `title-${session.session}`;
  const state = session.state
    ? h('p', { class: 'session-state', dataset: { state: session.state } }, t(`session.state_${session.state}`))
    : h('p', { class: 'session-state' }, t('ehub.state_unknown'));
  const when = t('ehub.time', {
    start: format(session.start, clock, zone), end: format(session.end, clock, zone), zone,
  });
  // The reader's own clock too, when it reads differently from the event's.
  const mine = t('ehub.local_time', {
    start: format(session.start, clock, undefined), end: format(session.end, clock, undefined),
  });
  const local = mine !== t('ehub.local_time', {
    start: format(session.start, clock, zone), end: format(session.end, clock, zone),
  });
  const open = h('a', {
    class: 'btn btn-primary', href: `${session.page}#token=${encodeURIComponent(token)}`,
    'aria-label': t('ehub.open_label', { title: bidi(session.title) }),
  }, t('ehub.open'));
  return h('li', { class: 'card session-card', 'aria-labelledby': titleId },
    h('div', { class: 'item-head' }, h('h4', { id: titleId, dir: 'auto' }, session.title), state),
    h('p', { class: 'meta-line' }, when),
    local ? h('p', { class: 'meta-line' }, mine) : null,
    session.room ? h('p', { class: 'meta-line', dir: 'auto' }, t('ehub.room', { room: bidi(session.room) })) : null,
    h('div', { class: 'actions' }, open));
}

function render() {
  if (!view) return;
  const { event, hub, sessions } = view;
  $('#event-title').textContent = event.title;
  $('#hub-title').textContent = t('ehub.title', { name: bidi(hub.name) });
  const place = [hub.city, hub.country].filter(Boolean).join(', ');
  const kind = t(`ehub.kind_${hub.kind}`);
  $('#hub-where').textContent = place ? t('ehub.where', { kind, place: bidi(place) }) : kind;
  $('#digest-link').href = `/api/events/${encodeURIComponent(event.id)}/hubs/${encodeURIComponent(hub.id)}/digest?format=html`;
  $('#sessions-count').textContent = String(sessions.length);
  $('#sessions-empty').hidden = sessions.length > 0;
  const byDay = new Map();
  for (const session of sessions) {
    if (!byDay.has(session.day)) byDay.set(session.day, []);
    byDay.get(session.day).push(session);
  }
  fill($('#days'), [...byDay.entries()].map(([day, list]) => {
    const headingId = `day-${day}`;
    return h('section', { class: 'stack', 'aria-labelledby': headingId },
      h('h3', { id: headingId }, dayName(day)),
      h('ul', { class: 'session-list' }, list.map((s) => sessionCard(s, event.timezone))));
  }));
  document.title = `${t('ehub.title', { name: bidi(hub.name) })} · ${t('app.name')}`;
}

async function load() {
  if (!eventId || !token) {
    $('#loading').hidden = true;
    flash($('#fatal'), t('link.missing'), 'error');
    return;
  }
  try {
    view = await api('GET', `/api/events/${encodeURIComponent(eventId)}/hubs/me`, { token });
  } catch (error) {
    $('#loading').hidden = true;
    const why = error.status === 401 ? fatalText(error) : errorText(error);
    flash($('#fatal'), why, 'error');
    return;
  }
  $('#loading').hidden = true;
  $('#app').hidden = false;
  render();
}

onLanguageChange(render);
load();
