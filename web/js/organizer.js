// The organizer's page: sign in with the admin key (kept in this tab only), create
// sessions, hand out each role's link (recovered from the hub, and retired on demand), mint
// named hub links with their city and country, list who holds a named link or joined as staff
// and revoke them, change a session's state and settings, set the fair-floor weights and
// budgets, and download transcripts and reports.
//
// Opened with a session organizer link (/s/{id}/organizer#token=...) it is that session's
// page: the same session card, without the Secretariat's parts (creating sessions, the
// admin key), and the review of the session's report (review.js).

import { storedAdminKey, storeAdminKey } from './admin-key.js';
import { t, onLanguageChange } from './i18n.js';
import {
  h, $, fill, storage, api, bootPage, languagePicker, announcer, languageName, errorText, flash,
  bidi, copyButton, countryOptions, wholeNumber, formatDuration, STAKEHOLDERS, groupLabel, badge,
  pageLink,
} from './ui.js';
import { ORDERINGS } from './mod-floor.js';
import { startReview } from './review.js';

bootPage('page.organizer');
const say = announcer();
$('#tools').append(languagePicker());

const LINKS_STORE = 'igf.organizer.links';
const FLOOR_STORE = 'igf.organizer.floor';
const LINK_FETCHES = 4; // at most this many link look-ups at once
// The balanced ordering's weights and their defaults (hub/domain/ordering.py `Weights`).
const WEIGHTS = [['stakeholder', 1], ['region', 1], ['gender', 1], ['youth', 0.5], ['origin', 1],
  ['new_speaker', 1], ['waiting', 0.5], ['votes', 0.25]];
const WHOLE_WEIGHTS = [['patience', 3, 1, 50], ['horizon_minutes', 30, 1, 600]];
// The session organizer's link is listed to the Secretariat only (the hub answers it to the
// admin key alone).
const ROLES = ['organizer', 'participant', 'moderator', 'captioner', 'hub', 'screen', 'desk'];
const STATES = ['scheduled', 'live', 'closed'];
const TRANSCRIPT_FORMATS = ['txt', 'vtt', 'srt', 'json'];
const REPORT_FORMATS = ['md', 'html', 'csv', 'json'];
// BCP 47 as the hub checks it: a 2-3 letter language, then 1-8 letter/digit subtags.
const LANGUAGE_TAG = /^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/;

let sessions = [];
// A session organizer link scopes the page to its session: {session, token}, else null.
const scope = (() => {
  const link = pageLink();
  return link.session && link.token && link.role === 'organizer' ? link : null;
})();

function setAdminKey(value) {
  storeAdminKey(value);
  memoryKey = value;
}
let memoryKey = scope ? scope.token : storedAdminKey();

/** The role links carry tokens: like the admin key they live in sessionStorage (this tab,
 * until it closes), never in localStorage where any later user of the browser finds them.
 * An older version kept them in localStorage: moved here once, then removed from there. */
const tabStore = {
  get(key, fallback) {
    try {
      const raw = window.sessionStorage.getItem(key);
      return raw === null ? fallback : JSON.parse(raw);
    } catch {
      return fallback;
    }
  },
  set(key, value) {
    try {
      window.sessionStorage.setItem(key, JSON.stringify(value));
    } catch {
      /* no session storage: the links are fetched again from the hub when needed */
    }
  },
};
(function moveOldLinks() {
  const old = storage.get(LINKS_STORE, null);
  if (old === null) return;
  if (old && typeof old === 'object') tabStore.set(LINKS_STORE, { ...old, ...tabStore.get(LINKS_STORE, {}) });
  storage.remove(LINKS_STORE);
})();

/** Links for each session: {id: {links: {role: url}, hubs: [{name, link}]}}. The role links
 * come from the hub (`GET …/links`); named hub links are only known where they were made. */
const known = () => tabStore.get(LINKS_STORE, {});
function remember(id, change) {
  const all = known();
  all[id] = { links: {}, hubs: [], ...all[id], ...change(all[id] || { links: {}, hubs: [] }) };
  tabStore.set(LINKS_STORE, all);
}

/** The screen link with the participant link in its fragment, for the QR code. */
function screenLink(links) {
  if (!links.screen) return '';
  return links.participant ? `${links.screen}&join=${encodeURIComponent(links.participant)}` : links.screen;
}

// ---------------------------------------------------------------- signing in

const signin = $('#signin');
const app = $('#org-app');

function showSignedIn(signedIn) {
  signin.hidden = signedIn;
  app.hidden = !signedIn;
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
    const body = await api('GET', '/api/sessions', { token: value });
    setAdminKey(value);
    $('#admin-key').value = '';
    flash(message, '');
    showSignedIn(true);
    showVoice();
    sessions = body.sessions || [];
    renderSessions();
    $('#org-title').focus();
    fetchAllLinks(sessions.map((s) => s.id)).catch(() => signedOut());
  } catch (error) {
    flash(message, error.status === 401 || error.status === 403 ? t('org.key_wrong') : errorText(error), 'error');
  }
});

$('#signout').addEventListener('click', () => {
  setAdminKey(null);
  sessions = [];
  fill($('#session-list'));
  showSignedIn(false);
  $('#admin-key').focus();
});

// ---------------------------------------------------------------- creating

$('#create-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const message = $('#create-message');
  const title = $('#new-title').value.trim();
  if (!title) {
    flash(message, t('org.title_needed'), 'error');
    $('#new-title').focus();
    return;
  }
  const languages = $('#new-languages').value.split(/[\s,;]+/).map((s) => s.trim()).filter(Boolean);
  const badTag = languages.find((tag) => !LANGUAGE_TAG.test(tag));
  if (badTag) {
    flash(message, t('org.languages_invalid', { tag: badTag }), 'error');
    $('#new-languages').focus();
    return;
  }
  const settings = {
    premoderation: $('#new-premoderation').checked,
    anonymous: $('#new-anonymous').checked,
  };
  const seconds = $('#new-speaking').value.trim();
  if (seconds) {
    const n = Number.parseInt(seconds, 10);
    if (!Number.isInteger(n) || n < 0 || String(n) !== seconds) {
      flash(message, t('org.speaking_invalid'), 'error');
      $('#new-speaking').focus();
      return;
    }
    settings.speaking_time = n;
  }
  const body = { title, settings, state: $('#new-live').checked ? 'live' : 'scheduled' };
  if (languages.length) body.languages = languages;
  try {
    const created = await api('POST', '/api/sessions', { token: memoryKey, body });
    remember(created.id, () => ({ links: created.links }));
    flash(message, t('org.created', { title: bidi(title) }), 'ok');
    say(t('org.created', { title: bidi(title) }));
    $('#create-form').reset();
    await refresh();
    const card = document.querySelector(`[data-session="${CSS.escape(created.id)}"] h3`);
    if (card) card.focus();
  } catch (error) {
    if (error.status === 401) return signedOut();
    flash(message, errorText(error), 'error');
  }
});

function signedOut() {
  if (scope) {
    // A retired or expired organizer link: nothing here works any more, and no sign-in helps.
    fill($('#session-list'));
    $('#review-card').hidden = true;
    flash($('#list-message'), t('review.link_refused'), 'error');
    return;
  }
  setAdminKey(null);
  showSignedIn(false);
  flash($('#signin-message'), t('org.key_wrong'), 'error');
}

// ---------------------------------------------------------------- the list

/** Voice on this hub, from /readyz's second line: on, down (why) or off (how to turn it on). */
async function showVoice() {
  let line = '';
  try {
    const response = await fetch('/readyz', { cache: 'no-store' });
    line = response.ok ? (await response.text()).split('\n')[1] || '' : '';
  } catch {
    line = '';
  }
  const node = $('#voice-state');
  if (!line.startsWith('voice')) {
    // Not ready (its backend away), or no answer: nothing known about voice right now.
    node.textContent = '';
    $('#voice-how').hidden = true;
    return;
  }
  const state = line.startsWith('voice on') ? 'on' : line.startsWith('voice down') ? 'down' : 'off';
  node.dataset.state = state;
  node.textContent = t(`voice.status_${state}`);
  $('#voice-how').hidden = state !== 'off';
}
onLanguageChange(showVoice);

/** The sessions this page shows: all of them for the Secretariat, else the link's own. */
async function loadSessions() {
  if (scope) return [await api('GET', `/api/sessions/${encodeURIComponent(scope.session)}`, { token: memoryKey })];
  const body = await api('GET', '/api/sessions', { token: memoryKey });
  return body.sessions || [];
}

async function refresh() {
  showVoice();
  try {
    sessions = await loadSessions();
    renderSessions();
    await fetchAllLinks(sessions.map((s) => s.id));
  } catch (error) {
    if (error.status === 401) signedOut();
    else flash($('#list-message'), errorText(error), 'error');
  }
}

// Bumped when a session's links change here (a rotation), so an answer to a look-up sent
// before that cannot bring the retired link back.
const linkVersions = new Map();

/** The current join links of a session, from the hub; remembered and shown on its card. */
async function fetchLinks(id) {
  const version = linkVersions.get(id) || 0;
  const body = await api('GET', `/api/sessions/${encodeURIComponent(id)}/links`, { token: memoryKey });
  if ((linkVersions.get(id) || 0) !== version) return body;
  remember(id, () => ({ links: body.links }));
  showLinks(id);
  return body;
}

async function fetchAllLinks(ids) {
  const queue = [...ids];
  const worker = async () => {
    while (queue.length) {
      const id = queue.shift();
      try {
        await fetchLinks(id);
      } catch (error) {
        if (error.status === 401) throw error;
        const card = cardOf(id);
        if (card) flash(card.querySelector('.links-message'), errorText(error), 'error');
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(LINK_FETCHES, ids.length) }, worker));
}

const cardOf = (id) => document.querySelector(`li[data-session="${CSS.escape(id)}"]`);
$('#refresh').addEventListener('click', refresh);

function renderSessions() {
  const list = $('#session-list');
  flash($('#list-message'), '');
  $('#sessions-empty').hidden = sessions.length > 0;
  const open = new Set([...list.querySelectorAll('details[open][data-panel]')]
    .map((d) => `${d.closest('li').dataset.session}:${d.dataset.panel}`));
  fill(list, [...sessions].reverse().map((session) => sessionCard(session, open)));
}

function linkRow(sessionId, label, url, key, role = null) {
  const id = `link-${sessionId}-${key}`;
  const input = h('input', { type: 'text', id, readonly: true, value: url, spellcheck: 'false',
    dir: 'ltr' });
  input.value = url;
  input.addEventListener('focus', () => input.select());
  const open = h('a', { class: 'btn btn-sm', href: url, target: '_blank', rel: 'noopener noreferrer',
    'aria-label': t('org.open_label', { role: label }) }, t('org.open'));
  const copy = copyButton(input, t('org.copy_label', { role: label }), say);
  const field = h('div', { class: 'link-field' }, input, copy, open);
  const row = h('div', { class: 'link-row', dataset: { role: role || '' } }, h('label', { for: id }, label), field);
  if (role) {
    const panel = h('div', { class: 'panel link-panel' });
    const retire = h('button', { type: 'button', class: 'btn btn-sm btn-ghost', dataset: { action: 'rotate' },
      'aria-label': t('org.rotate_label', { role: label }) }, t('org.rotate'));
    retire.addEventListener('click', () => openRotate(sessionId, role, label, panel, retire));
    field.append(retire);
    row.append(panel);
  }
  return row;
}

/** Confirm, then retire a role's join links; the hub answers with the new ones. */
function openRotate(id, role, label, panel, opener) {
  const message = h('p', { class: 'form-message', role: 'alert', hidden: true });
  const yes = h('button', { type: 'button', class: 'btn btn-sm btn-danger' }, t('org.rotate_confirm'));
  const no = h('button', { type: 'button', class: 'btn btn-sm' }, t('common.cancel'));
  const close = () => {
    fill(panel);
    opener.focus();
  };
  no.addEventListener('click', close);
  yes.addEventListener('click', async () => {
    yes.disabled = true;
    try {
      const body = await api('PATCH', `/api/sessions/${encodeURIComponent(id)}`,
        { token: memoryKey, body: { rotate: [role] } });
      linkVersions.set(id, (linkVersions.get(id) || 0) + 1);
      remember(id, () => ({ links: body.links }));
      const done = t('org.rotated', { role: label });
      say(done);
      showLinks(id);
      const card = cardOf(id);
      if (card) {
        flash(card.querySelector('.links-message'), done, 'ok');
        const again = card.querySelector(`.link-row[data-role="${role}"] input`);
        if (again) again.focus();
      }
    } catch (error) {
      yes.disabled = false;
      flash(message, errorText(error), 'error');
    }
  });
  const who = t(`org.rotate_who_${role}`) === `org.rotate_who_${role}` ? '' : t(`org.rotate_who_${role}`);
  fill(panel, h('div', { class: 'inline-form', role: 'group', 'aria-label': t('org.rotate_title', { role: label }) },
    h('p', { class: 'setting-label' }, t('org.rotate_title', { role: label })),
    h('p', {}, t('org.rotate_explain')),
    who ? h('p', {}, who) : null,
    message, h('div', { class: 'actions' }, yes, no)));
  no.focus(); // the safe choice first: Enter does not retire a link by accident
}

/** (Re)fill a session card's links from what is remembered for it. */
function showLinks(id) {
  const card = cardOf(id);
  if (card) fillLinks(card, id);
}

function fillLinks(card, id) {
  const mem = known()[id] || { links: {}, hubs: [] };
  const links = mem.links || {};
  // Unchanged links keep their rows (and a confirmation the organizer has open).
  const signature = JSON.stringify([links, mem.hubs || [], document.documentElement.lang]);
  if (card.dataset.links === signature) return;
  card.dataset.links = signature;
  const rows = [];
  for (const role of ROLES) {
    const url = role === 'screen' ? screenLink(links) : links[role];
    if (url) rows.push(linkRow(id, t(`role.${role}`), url, role, role));
  }
  const hubRows = (mem.hubs || []).map((hub, index) => linkRow(id,
    t('org.hub_link_label', { name: bidi(hub.name) }), hub.link, `hub-${index}`));
  fill(card.querySelector('.link-rows'), rows.length ? rows : h('p', { class: 'hint' }, t('org.links_loading')));
  const hubs = card.querySelector('.hub-rows');
  fill(hubs, hubRows);
  hubs.hidden = hubRows.length === 0;
}

function hubForm(id, message) {
  const name = h('input', { type: 'text', id: `hubname-${id}`, maxlength: '80', autocomplete: 'off' });
  const city = h('input', { type: 'text', id: `hubcity-${id}`, maxlength: '80', autocomplete: 'off' });
  const country = h('select', { id: `hubcountry-${id}` }, countryOptions('org.country_none'));
  const form = h('form', { class: 'row hub-form', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: `hubname-${id}` }, t('org.hub_name')), name),
    h('div', { class: 'field' }, h('label', { for: `hubcity-${id}` }, t('org.hub_city')), city),
    h('div', { class: 'field' }, h('label', { for: `hubcountry-${id}` }, t('org.hub_country')), country),
    h('button', { type: 'submit', class: 'btn' }, t('org.hub_create')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const value = name.value.trim();
    if (!value) {
      flash(message, t('org.hub_name_needed'), 'error');
      name.focus();
      return;
    }
    const body = { role: 'hub', name: value };
    if (city.value.trim()) body.city = city.value.trim();
    if (country.value) body.country = country.value;
    try {
      const minted = await api('POST', `/api/sessions/${encodeURIComponent(id)}/tokens`,
        { token: memoryKey, body });
      remember(id, (m) => ({ hubs: [...(m.hubs || []), { name: minted.name || value, link: minted.link }] }));
      say(t('org.hub_created', { name: value }));
      flash(message, t('org.hub_created', { name: bidi(value) }), 'ok');
      form.reset();
      showLinks(id);
      name.focus();
    } catch (error) {
      flash(message, errorText(error), 'error');
    }
  });
  return form;
}

// ---------------------------------------------------------------- settings

function numberField(id, label, { value, min, max, step = 1, help = null }) {
  const input = h('input', { type: 'number', id, min: String(min), max: String(max), step: String(step),
    inputmode: step === 1 ? 'numeric' : 'decimal', class: 'seconds',
    'aria-describedby': help ? `${id}-help` : null });
  input.value = value === null || value === undefined ? '' : String(value);
  return h('div', { class: 'field' }, h('label', { for: id }, label), input,
    help ? h('p', { class: 'hint', id: `${id}-help` }, help) : null);
}

function checkField(id, label, checked) {
  return h('div', { class: 'check' }, h('input', { type: 'checkbox', id, checked }), h('label', { for: id }, label));
}

function settingsPanel(session, message, open) {
  const id = session.id;
  const s = session.settings || {};
  const form = h('form', { class: 'stack', novalidate: true },
    numberField(`room-${id}`, t('org.room_count'), { value: s.room_count ?? 0, min: 0, max: 100000,
      help: t('org.room_count_help') }),
    numberField(`speak-${id}`, t('org.speaking_per_turn'), { value: s.speaking_time ?? 0, min: 0, max: 100000,
      help: t('org.speaking_per_turn_help') }),
    checkField(`premod-${id}`, t('org.premoderation'), s.premoderation !== false),
    checkField(`anon-${id}`, t('org.anonymous'), s.anonymous !== false),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, t('org.settings_save'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const room = wholeNumber(form.querySelector(`#room-${id}`), 0, 100000);
    const speak = wholeNumber(form.querySelector(`#speak-${id}`), 0, 100000);
    if (Number.isNaN(room) || Number.isNaN(speak)) {
      flash(message, t('org.whole_number'), 'error');
      form.querySelector(Number.isNaN(room) ? `#room-${id}` : `#speak-${id}`).focus();
      return;
    }
    const settings = {
      room_count: room ?? 0,
      speaking_time: speak ?? 0,
      premoderation: form.querySelector(`#premod-${id}`).checked,
      anonymous: form.querySelector(`#anon-${id}`).checked,
    };
    try {
      const changed = await api('PATCH', `/api/sessions/${encodeURIComponent(id)}`,
        { token: memoryKey, body: { settings } });
      Object.assign(session, changed);
      say(t('org.settings_saved'));
      const card = cardOf(id);
      if (card) {
        card.querySelector('.meta-line').textContent = facts(session).join(' · ');
        flash(card.querySelector('.settings-message'), t('org.settings_saved'), 'ok');
      }
    } catch (error) {
      flash(message, errorText(error), 'error');
    }
  });
  return h('details', { class: 'subpanel', dataset: { panel: 'settings' }, open: open.has(`${id}:settings`) },
    h('summary', {}, t('org.settings_title')), form,
    h('p', { class: 'form-message settings-message', role: 'status', hidden: true }));
}

// ---------------------------------------------------------------- access

/** Who holds a named link or joined as staff (`GET …/tokens`), each revocable at once. */
function accessPanel(session, open) {
  const id = session.id;
  const message = h('p', { class: 'form-message', role: 'status', hidden: true });
  const list = h('ul', { class: 'access-list' });
  const load = async () => {
    try {
      const answer = await api('GET', `/api/sessions/${encodeURIComponent(id)}/tokens`, { token: memoryKey });
      const holders = answer.tokens || [];
      fill(list, holders.length ? holders.map((holder) => accessRow(id, holder, load, message))
        : h('li', { class: 'hint' }, t('org.access_empty')));
    } catch (error) {
      flash(message, errorText(error), 'error');
    }
  };
  const details = h('details', { class: 'subpanel', dataset: { panel: 'access' }, open: open.has(`${id}:access`) },
    h('summary', {}, t('org.access_title')), h('p', { class: 'hint' }, t('org.access_help')), list, message);
  details.addEventListener('toggle', () => {
    if (details.open) load(); // afresh at each opening: others may have joined meanwhile
  });
  if (details.open) load();
  return details;
}

function accessRow(sessionId, holder, reload, message) {
  const name = bidi(holder.name);
  const facts = [t(`role.${holder.role}`),
    t(holder.named ? 'org.access_named' : 'org.access_joined_link')];
  if (!holder.joined) facts.push(t('org.access_unused'));
  if (holder.expires) {
    facts.push(t('org.access_expires', { date: new Date(holder.expires * 1000).toLocaleDateString(
      document.documentElement.lang || undefined, { dateStyle: 'medium' }) }));
  }
  const row = h('li', { class: 'access-row', dataset: { identity: holder.identity } },
    h('span', { class: 'access-name' }, name), ' ',
    h('span', { class: 'hint' }, facts.join(' · ')));
  if (holder.revoked) {
    row.append(' ', badge(t('org.access_revoked'), 'status-rejected'));
    return row;
  }
  const panel = h('div', { class: 'panel link-panel' });
  const revoke = h('button', { type: 'button', class: 'btn btn-sm btn-ghost', dataset: { action: 'revoke' },
    'aria-label': t('org.revoke_label', { name }) }, t('org.revoke'));
  revoke.addEventListener('click', () => {
    const yes = h('button', { type: 'button', class: 'btn btn-sm btn-danger' }, t('org.revoke_confirm'));
    const no = h('button', { type: 'button', class: 'btn btn-sm' }, t('common.cancel'));
    no.addEventListener('click', () => {
      fill(panel);
      revoke.focus();
    });
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      try {
        await api('DELETE', `/api/sessions/${encodeURIComponent(sessionId)}/tokens/${encodeURIComponent(holder.identity)}`,
          { token: memoryKey });
        say(t('org.revoked', { name: holder.name }));
        flash(message, t('org.revoked', { name }), 'ok');
        await reload();
      } catch (error) {
        yes.disabled = false;
        flash(message, errorText(error), 'error');
      }
    });
    fill(panel, h('div', { class: 'inline-form', role: 'group', 'aria-label': t('org.revoke_title', { name }) },
      h('p', { class: 'setting-label' }, t('org.revoke_title', { name })),
      h('p', {}, t('org.revoke_explain')),
      h('div', { class: 'actions' }, yes, no)));
    no.focus(); // the safe choice first
  });
  row.append(' ', revoke, panel);
  return row;
}

/** The last floor settings this browser sent per session (the hub does not read weights back). */
const floorMemory = () => storage.get(FLOOR_STORE, {});

function floorPanel(session, open) {
  const id = session.id;
  const message = h('p', { class: 'form-message', role: 'status', hidden: true });
  const ordering = h('select', { id: `ordering-${id}` },
    ORDERINGS.map((name) => h('option', { value: name }, t(`ordering.${name}`))));
  const weightFields = WEIGHTS.map(([key, value]) => numberField(`w-${key}-${id}`, t(`weight.${key}`),
    { value, min: 0, max: 10, step: 0.25 }));
  const wholeFields = WHOLE_WEIGHTS.map(([key, value, min, max]) => numberField(`w-${key}-${id}`,
    t(`weight.${key}`), { value, min, max, help: t(`weight.${key}_help`) }));
  const budgetFields = STAKEHOLDERS.map((group) => numberField(`b-${group}-${id}`,
    groupLabel('stakeholder', group), { value: null, min: 1, max: 1440 }));
  const note = h('p', { class: 'hint floor-note' });
  const form = h('form', { class: 'stack', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: `ordering-${id}` }, t('org.floor_ordering')), ordering),
    h('fieldset', { class: 'weights' }, h('legend', {}, t('org.weights')),
      h('p', { class: 'hint' }, t('org.weights_help')), h('div', { class: 'grid-fields' }, weightFields, wholeFields)),
    h('fieldset', { class: 'budgets' }, h('legend', {}, t('org.budgets')),
      h('p', { class: 'hint' }, t('org.budgets_help')), h('div', { class: 'grid-fields' }, budgetFields)),
    note,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, t('org.floor_save'))),
    message);

  const show = (floor, used = {}, source = 'hub') => {
    if (floor.ordering) ordering.value = floor.ordering;
    const weights = floor.weights || {};
    for (const [key, value] of [...WEIGHTS, ...WHOLE_WEIGHTS]) {
      form.querySelector(`#w-${key}-${id}`).value = String(weights[key] ?? value);
    }
    const budgets = floor.budgets || {};
    for (const group of STAKEHOLDERS) {
      const input = form.querySelector(`#b-${group}-${id}`);
      input.value = budgets[group] ? String(Math.round(budgets[group] / 60)) : '';
      const hint = used[group] ? t('org.budget_used', { used: formatDuration(used[group]) }) : '';
      input.title = hint;
    }
    // Say where the weights shown come from, unless they are the session's own.
    if (!floor.weights) note.textContent = t('org.weights_defaults');
    else note.textContent = source === 'hub' ? '' : t('org.weights_remembered');
    note.hidden = !note.textContent;
  };

  const setBusy = (busy) => {
    // Nothing can be typed before the current values are in: they would overwrite it.
    for (const element of form.elements) element.disabled = busy;
    form.setAttribute('aria-busy', String(busy));
  };

  const load = async () => {
    const remembered = floorMemory()[id] || {};
    setBusy(true);
    try {
      // The ranking (ordering, budgets used) from GET …/floor; the weights from the session's
      // floor settings, which a PATCH answers with (an empty PATCH changes nothing).
      const path = `/api/sessions/${encodeURIComponent(id)}`;
      const [answer, current] = await Promise.all([
        api('GET', `${path}/floor`, { token: memoryKey }),
        api('PATCH', path, { token: memoryKey, body: {} }),
      ]);
      const budgets = {};
      const used = {};
      for (const [group, b] of Object.entries(answer.budgets || {})) {
        budgets[group] = b.budget;
        used[group] = b.used;
      }
      const known = current && current.floor;
      show({ ordering: answer.ordering, weights: known ? known.weights : remembered.weights, budgets },
        used, known ? 'hub' : 'browser');
    } catch (error) {
      show(remembered, {}, 'browser');
      flash(message, errorText(error), 'error');
    } finally {
      setBusy(false);
    }
  };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const weights = {};
    for (const [key] of WEIGHTS) {
      const input = form.querySelector(`#w-${key}-${id}`);
      const n = Number(input.value);
      if (input.value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 10) {
        flash(message, t('org.weight_invalid'), 'error');
        input.focus();
        return;
      }
      weights[key] = n;
    }
    for (const [key, , min, max] of WHOLE_WEIGHTS) {
      const input = form.querySelector(`#w-${key}-${id}`);
      const n = wholeNumber(input, min, max);
      if (n === null || Number.isNaN(n)) {
        flash(message, t('org.whole_between', { min, max }), 'error');
        input.focus();
        return;
      }
      weights[key] = n;
    }
    const budgets = {};
    for (const group of STAKEHOLDERS) {
      const input = form.querySelector(`#b-${group}-${id}`);
      const minutes = wholeNumber(input, 1, 1440);
      if (Number.isNaN(minutes)) {
        flash(message, t('org.whole_between', { min: 1, max: 1440 }), 'error');
        input.focus();
        return;
      }
      if (minutes) budgets[group] = minutes * 60;
    }
    try {
      const answer = await api('PATCH', `/api/sessions/${encodeURIComponent(id)}`,
        { token: memoryKey, body: { floor: { ordering: ordering.value, weights, budgets } } });
      const saved = answer.floor || { ordering: ordering.value, weights, budgets };
      const all = floorMemory();
      all[id] = { weights: saved.weights };
      storage.set(FLOOR_STORE, all);
      note.textContent = '';
      note.hidden = true;
      say(t('org.floor_saved'));
      flash(message, t('org.floor_saved'), 'ok');
    } catch (error) {
      flash(message, errorText(error), 'error');
    }
  });

  // Closed to input until the session's values are in: the panel's toggle event comes after
  // the click that opens it, so a choice made at once would be overwritten by the load.
  setBusy(true);
  const details = h('details', { class: 'subpanel', dataset: { panel: 'floor' }, open: open.has(`${id}:floor`) },
    h('summary', {}, t('org.floor_title')), h('p', { class: 'hint' }, t('org.floor_help')), form);
  let loaded = false;
  details.addEventListener('toggle', () => {
    if (details.open && !loaded) {
      loaded = true;
      load();
    }
  });
  if (details.open) {
    loaded = true;
    load();
  }
  return details;
}

function facts(session) {
  const settings = session.settings || {};
  const out = [
    t('org.meta_id', { id: session.id }),
    (session.languages || []).map(languageName).join(', '),
    t(settings.premoderation ? 'org.meta_premoderated' : 'org.meta_open'),
    t(settings.anonymous ? 'org.meta_anonymous' : 'org.meta_named'),
  ];
  if (settings.speaking_time) out.push(t('org.meta_speaking', { n: settings.speaking_time }));
  if (settings.room_count) out.push(t('org.meta_room', { n: settings.room_count }));
  return out;
}

function sessionCard(session, open = new Set()) {
  const id = session.id;
  const titleId = `s-${id}-title`;
  const message = h('p', { class: 'form-message', role: 'status', hidden: true });

  const stateButtons = STATES.map((state) => {
    const button = h('button', { type: 'button', class: 'btn btn-sm', 'aria-pressed': String(session.state === state) },
      t(`session.set_${state}`));
    button.addEventListener('click', async () => {
      try {
        const changed = await api('PATCH', `/api/sessions/${encodeURIComponent(id)}`,
          { token: memoryKey, body: { state } });
        Object.assign(session, changed);
        say(t('org.state_changed', { state: t(`session.state_${state}`) }));
        document.dispatchEvent(new CustomEvent('session-state', { detail: { id, state } }));
        renderSessions();
        const again = document.querySelector(`[data-session="${CSS.escape(id)}"] [aria-pressed="true"]`);
        if (again) again.focus();
      } catch (error) {
        flash(message, errorText(error), 'error');
      }
    });
    return button;
  });

  const langSelect = h('select', { id: `tlang-${id}` },
    (session.languages || []).map((tag) => h('option', { value: tag, lang: tag }, languageName(tag))));
  const transcriptButtons = TRANSCRIPT_FORMATS.map((fmt) => {
    const button = h('button', { type: 'button', class: 'btn btn-sm',
      'aria-label': t('org.download_transcript_label', { format: t(`format.${fmt}`) }) }, t(`format.${fmt}`));
    button.addEventListener('click', () => download(
      `/api/sessions/${encodeURIComponent(id)}/transcript?format=${fmt}&lang=${encodeURIComponent(langSelect.value)}`,
      `${id}-${langSelect.value}.${fmt}`, message));
    return button;
  });
  const reportButtons = REPORT_FORMATS.map((fmt) => {
    const button = h('button', { type: 'button', class: 'btn btn-sm',
      'aria-label': t('org.download_report_label', { format: t(`format.${fmt}`) }) }, t(`format.${fmt}`));
    button.addEventListener('click', () => download(
      `/api/sessions/${encodeURIComponent(id)}/report?format=${fmt}`, `${id}-report.${fmt}`, message));
    return button;
  });

  const card = h('li', { class: 'card session-card', dataset: { session: id } },
    h('div', { class: 'card-head' },
      h('h3', { id: titleId, tabindex: '-1' }, session.title),
      h('span', { class: 'session-state', dataset: { state: session.state } }, t(`session.state_${session.state}`))),
    h('p', { class: 'meta-line' }, facts(session).join(' · ')),
    h('div', { class: 'state-choices', role: 'group', 'aria-label': t('org.state_label', { title: session.title }) },
      stateButtons),
    h('h4', {}, t('org.links_title')),
    h('p', { class: 'hint' }, t('org.rotate_help')),
    h('div', { class: 'link-rows' }),
    h('p', { class: 'form-message links-message', role: 'status', hidden: true }),
    h('h4', {}, t('org.hubs_title')),
    h('p', { class: 'hint' }, t('org.hub_links_note')),
    h('div', { class: 'link-rows hub-rows', hidden: true }),
    hubForm(id, message),
    settingsPanel(session, message, open),
    accessPanel(session, open),
    floorPanel(session, open),
    h('div', { class: 'tools-grid' },
      h('div', { class: 'stack' }, h('h4', {}, t('org.transcript_title')),
        h('div', { class: 'field' }, h('label', { for: `tlang-${id}` }, t('org.transcript_language')), langSelect),
        h('div', { class: 'actions' }, transcriptButtons)),
      h('div', { class: 'stack' }, h('h4', {}, t('org.report_title')),
        h('p', { class: 'hint' }, t('org.report_help')),
        h('div', { class: 'actions' }, reportButtons))),
    message);
  fillLinks(card, id);
  return card;
}

/** Fetch with the admin key in a header (never in a URL) and save the answer as a file. */
async function download(path, fallbackName, message) {
  try {
    const response = await fetch(path, { headers: { Authorization: `Bearer ${memoryKey}` }, cache: 'no-store' });
    if (!response.ok) {
      const data = await response.json().catch(() => null);
      const error = (data && data.error) || { code: `http_${response.status}` };
      if (response.status === 404 && !data) throw { code: 'not_found_endpoint' };
      throw error;
    }
    const disposition = response.headers.get('Content-Disposition') || '';
    const match = disposition.match(/filename="?([^";]+)"?/);
    const blob = await response.blob();
    const url = URL.createObjectURL(blob);
    const anchor = h('a', { href: url, download: match ? match[1] : fallbackName, class: 'sr-only' });
    document.body.append(anchor);
    anchor.click();
    anchor.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 10000);
    flash(message, t('org.downloaded', { name: match ? match[1] : fallbackName }), 'ok');
  } catch (error) {
    flash(message, error.code === 'not_found_endpoint' ? t('org.not_available') : errorText(error), 'error');
  }
}

onLanguageChange(() => { if (!app.hidden) renderSessions(); });

function showScoped() {
  showSignedIn(true);
  $('#create-card').hidden = true;
  $('#account-card').hidden = true;
  $('#voice-card').hidden = true; // the hub's operator's business, not a session's
  $('#page-title').dataset.i18n = 'review.page_heading';
  $('#org-title').dataset.i18n = 'review.session_heading';
  $('#page-title').textContent = t('review.page_heading');
  $('#org-title').textContent = t('review.session_heading');
  refresh();
  startReview({ sessionId: scope.session, token: scope.token, say, refused: signedOut });
}

if (scope) {
  showScoped();
} else if (memoryKey) {
  showSignedIn(true);
  refresh();
} else {
  showSignedIn(false);
}
