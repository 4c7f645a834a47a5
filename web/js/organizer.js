// The organizer's page: sign in with the admin key (kept in this tab only), create
// sessions, hand out each role's link, mint named hub links, change a session's state,
// and download transcripts and reports.

import { t, onLanguageChange } from './i18n.js';
import {
  h, $, fill, storage, api, bootPage, languagePicker, announcer, languageName, errorText, flash,
  bidi,
} from './ui.js';

bootPage('page.organizer');
const say = announcer();
$('#tools').append(languagePicker());

const KEY_STORE = 'igf.adminKey';
const LINKS_STORE = 'igf.organizer.links';
const ROLES = ['participant', 'moderator', 'captioner', 'hub', 'screen'];
const STATES = ['scheduled', 'live', 'closed'];
const TRANSCRIPT_FORMATS = ['txt', 'vtt', 'srt', 'json'];
const REPORT_FORMATS = ['md', 'html', 'csv', 'json'];
// BCP 47 as the hub checks it: a 2-3 letter language, then 1-8 letter/digit subtags.
const LANGUAGE_TAG = /^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/;

let sessions = [];

function adminKey() {
  try {
    return window.sessionStorage.getItem(KEY_STORE);
  } catch {
    return null;
  }
}

function setAdminKey(value) {
  try {
    if (value) window.sessionStorage.setItem(KEY_STORE, value);
    else window.sessionStorage.removeItem(KEY_STORE);
  } catch {
    /* no session storage: the key lasts until the page is closed */
  }
  memoryKey = value;
}
let memoryKey = adminKey();

/** Links this browser has seen for each session: {id: {links: {role: url}, hubs: [{name, link}]}}. */
const known = () => storage.get(LINKS_STORE, {});
function remember(id, change) {
  const all = known();
  all[id] = { links: {}, hubs: [], ...all[id], ...change(all[id] || { links: {}, hubs: [] }) };
  storage.set(LINKS_STORE, all);
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
    sessions = body.sessions || [];
    renderSessions();
    $('#org-title').focus();
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
  setAdminKey(null);
  showSignedIn(false);
  flash($('#signin-message'), t('org.key_wrong'), 'error');
}

// ---------------------------------------------------------------- the list

async function refresh() {
  try {
    const body = await api('GET', '/api/sessions', { token: memoryKey });
    sessions = body.sessions || [];
    renderSessions();
  } catch (error) {
    if (error.status === 401) signedOut();
    else flash($('#list-message'), errorText(error), 'error');
  }
}
$('#refresh').addEventListener('click', refresh);

function renderSessions() {
  const list = $('#session-list');
  flash($('#list-message'), '');
  $('#sessions-empty').hidden = sessions.length > 0;
  fill(list, [...sessions].reverse().map(sessionCard));
}

function copyButton(input, label) {
  const button = h('button', { type: 'button', class: 'btn btn-sm', 'aria-label': label }, t('org.copy'));
  button.addEventListener('click', async () => {
    let ok = false;
    try {
      await navigator.clipboard.writeText(input.value);
      ok = true;
    } catch {
      input.select();
      ok = document.execCommand && document.execCommand('copy');
    }
    say(ok ? t('org.copied') : t('org.copy_failed'));
    button.textContent = ok ? t('org.copied_short') : t('org.copy');
    window.setTimeout(() => { button.textContent = t('org.copy'); }, 2000);
  });
  return button;
}

function linkRow(sessionId, label, url, key) {
  const id = `link-${sessionId}-${key}`;
  const input = h('input', { type: 'text', id, readonly: true, value: url, spellcheck: 'false',
    dir: 'ltr' });
  input.value = url;
  input.addEventListener('focus', () => input.select());
  const open = h('a', { class: 'btn btn-sm', href: url, target: '_blank', rel: 'noopener noreferrer',
    'aria-label': t('org.open_label', { role: label }) }, t('org.open'));
  return h('div', { class: 'link-row' },
    h('label', { for: id }, label),
    h('div', { class: 'link-field' }, input, copyButton(input, t('org.copy_label', { role: label })), open));
}

function sessionCard(session) {
  const id = session.id;
  const mem = known()[id] || { links: {}, hubs: [] };
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
        renderSessions();
        const again = document.querySelector(`[data-session="${CSS.escape(id)}"] [aria-pressed="true"]`);
        if (again) again.focus();
      } catch (error) {
        flash(message, errorText(error), 'error');
      }
    });
    return button;
  });

  const links = mem.links || {};
  const linkRows = [];
  for (const role of ROLES) {
    const url = role === 'screen' ? screenLink(links) : links[role];
    if (url) linkRows.push(linkRow(id, t(`role.${role}`), url, role));
  }
  for (const [index, hub] of (mem.hubs || []).entries()) {
    linkRows.push(linkRow(id, t('org.hub_link_label', { name: bidi(hub.name) }), hub.link, `hub-${index}`));
  }

  const hubName = h('input', { type: 'text', id: `hubname-${id}`, maxlength: '80', autocomplete: 'off' });
  const hubForm = h('form', { class: 'row', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: `hubname-${id}` }, t('org.hub_name')), hubName),
    h('button', { type: 'submit', class: 'btn' }, t('org.hub_create')));
  hubForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = hubName.value.trim();
    if (!name) {
      flash(message, t('org.hub_name_needed'), 'error');
      hubName.focus();
      return;
    }
    try {
      const minted = await api('POST', `/api/sessions/${encodeURIComponent(id)}/tokens`,
        { token: memoryKey, body: { role: 'hub', name } });
      remember(id, (m) => ({ hubs: [...(m.hubs || []), { name: minted.name || name, link: minted.link }] }));
      say(t('org.hub_created', { name }));
      renderSessions();
      const field = document.getElementById(`hubname-${id}`);
      if (field) field.focus();
    } catch (error) {
      flash(message, errorText(error), 'error');
    }
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

  const settings = session.settings || {};
  const facts = [
    t('org.meta_id', { id }),
    (session.languages || []).map(languageName).join(', '),
    t(settings.premoderation ? 'org.meta_premoderated' : 'org.meta_open'),
    t(settings.anonymous ? 'org.meta_anonymous' : 'org.meta_named'),
  ];
  if (settings.speaking_time) facts.push(t('org.meta_speaking', { n: settings.speaking_time }));

  return h('li', { class: 'card session-card', dataset: { session: id } },
    h('div', { class: 'card-head' },
      h('h3', { id: titleId, tabindex: '-1' }, session.title),
      h('span', { class: 'session-state', dataset: { state: session.state } }, t(`session.state_${session.state}`))),
    h('p', { class: 'meta-line' }, facts.join(' · ')),
    h('div', { class: 'state-choices', role: 'group', 'aria-label': t('org.state_label', { title: session.title }) },
      stateButtons),
    h('h4', {}, t('org.links_title')),
    linkRows.length
      ? h('div', { class: 'link-rows' }, linkRows)
      : h('p', { class: 'hint' }, t('org.links_unknown')),
    hubForm,
    h('div', { class: 'tools-grid' },
      h('div', { class: 'stack' }, h('h4', {}, t('org.transcript_title')),
        h('div', { class: 'field' }, h('label', { for: `tlang-${id}` }, t('org.transcript_language')), langSelect),
        h('div', { class: 'actions' }, transcriptButtons)),
      h('div', { class: 'stack' }, h('h4', {}, t('org.report_title')),
        h('p', { class: 'hint' }, t('org.report_help')),
        h('div', { class: 'actions' }, reportButtons))),
    message);
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

if (memoryKey) {
  showSignedIn(true);
  refresh();
} else {
  showSignedIn(false);
}
