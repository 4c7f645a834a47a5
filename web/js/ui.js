// Small DOM helpers shared by every page. User text only ever becomes a text node.

import { t, currentLanguage, setLanguage, LANGUAGES, onLanguageChange } from './i18n.js';

/**
 * Make an element: h('button', {class: 'btn', onclick: fn, 'aria-label': '...'}, 'text', child).
 * Strings become text nodes (never HTML); `text` sets textContent; `dataset` and `on*` are
 * handled; `false`/`null` attributes are left out.
 */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (key === 'text') node.textContent = String(value);
    else if (key === 'class') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') {
      node.addEventListener(key.slice(2), value);
    } else if (key === 'value') node.value = value;
    else if (key === 'checked' || key === 'disabled' || key === 'selected') node[key] = Boolean(value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace an element's children. */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

/** An idempotency key or reference: random, URL-safe, available without a secure context. */
export function randomKey(bytes = 12) {
  const raw = new Uint8Array(bytes);
  crypto.getRandomValues(raw);
  return Array.from(raw, (b) => b.toString(36).padStart(2, '0')).join('').slice(0, bytes * 2);
}

// ---------------------------------------------------------------- storage

/** localStorage that never throws (private browsing, quota, disabled storage). */
export const storage = {
  get(key, fallback = null) {
    try {
      const raw = window.localStorage.getItem(key);
      return raw === null ? fallback : JSON.parse(raw);
    } catch {
      return fallback;
    }
  },
  set(key, value) {
    try {
      window.localStorage.setItem(key, JSON.stringify(value));
      return true;
    } catch {
      return false;
    }
  },
  remove(key) {
    try {
      window.localStorage.removeItem(key);
    } catch {
      /* storage unavailable: nothing to remove */
    }
  },
};

// ---------------------------------------------------------------- reader preferences

const PREFS_KEY = 'igf.prefs';
const TEXT_SIZES = 6;
const prefs = { textSize: 1, contrast: false, lite: false, ...storage.get(PREFS_KEY, {}) };

export function getPref(name) {
  return prefs[name];
}

export function setPref(name, value) {
  prefs[name] = value;
  storage.set(PREFS_KEY, prefs);
  applyPrefs();
  document.dispatchEvent(new CustomEvent('prefs', { detail: { name, value } }));
}

export function applyPrefs() {
  const root = document.documentElement;
  root.dataset.textsize = String(Math.max(0, Math.min(TEXT_SIZES - 1, prefs.textSize)));
  root.dataset.contrast = prefs.contrast ? 'high' : 'normal';
  root.dataset.lite = prefs.lite ? 'on' : 'off';
}

export const reducedMotion = () => window.matchMedia('(prefers-reduced-motion: reduce)').matches;

/** The "Display" settings: text size, high contrast and (optionally) low-bandwidth mode. */
export function displaySettings({ lite = false } = {}) {
  const sizeLabel = h('span', { class: 'size-value', 'aria-live': 'polite' });
  const showSize = () => {
    sizeLabel.textContent = t('display.size_value', { n: prefs.textSize + 1, max: TEXT_SIZES });
  };
  const smaller = h('button', { type: 'button', class: 'btn btn-sm', dataset: { i18n: 'display.smaller' } });
  const larger = h('button', { type: 'button', class: 'btn btn-sm', dataset: { i18n: 'display.larger' } });
  smaller.addEventListener('click', () => {
    setPref('textSize', Math.max(0, prefs.textSize - 1));
    showSize();
  });
  larger.addEventListener('click', () => {
    setPref('textSize', Math.min(TEXT_SIZES - 1, prefs.textSize + 1));
    showSize();
  });
  const contrast = h('input', { type: 'checkbox', id: 'pref-contrast', checked: prefs.contrast });
  contrast.addEventListener('change', () => setPref('contrast', contrast.checked));
  const rows = [
    h('div', { class: 'setting-row', role: 'group', 'aria-labelledby': 'pref-size-label' },
      h('span', { id: 'pref-size-label', class: 'setting-label', dataset: { i18n: 'display.text_size' } }),
      h('span', { class: 'btn-group' }, smaller, sizeLabel, larger)),
    h('div', { class: 'check' }, contrast,
      h('label', { for: 'pref-contrast', dataset: { i18n: 'display.high_contrast' } })),
  ];
  if (lite) {
    const liteBox = h('input', { type: 'checkbox', id: 'pref-lite', checked: prefs.lite,
      'aria-describedby': 'pref-lite-help' });
    liteBox.addEventListener('change', () => setPref('lite', liteBox.checked));
    rows.push(h('div', { class: 'check' }, liteBox,
      h('label', { for: 'pref-lite', dataset: { i18n: 'display.lite' } })),
    h('p', { id: 'pref-lite-help', class: 'hint', dataset: { i18n: 'display.lite_help' } }));
  }
  showSize();
  onLanguageChange(showSize);
  return rows;
}

// ---------------------------------------------------------------- page chrome

/** The language picker every page shows in its header. */
export function languagePicker() {
  const select = h('select', { id: 'ui-language', class: 'lang-select', 'aria-label': 'Language' });
  for (const lang of LANGUAGES) {
    select.append(h('option', { value: lang.code, lang: lang.tag, text: lang.name }));
  }
  select.value = currentLanguage();
  select.addEventListener('change', () => setLanguage(select.value));
  onLanguageChange(() => {
    select.value = currentLanguage();
    select.setAttribute('aria-label', t('common.language'));
  });
  select.setAttribute('aria-label', t('common.language'));
  return select;
}

/** The connection state, as text and colour, updated from a HubClient. */
export function connectionBadge(client) {
  const badge = h('p', { class: 'conn', role: 'status', dataset: { state: 'connecting' } },
    h('span', { class: 'conn-dot', 'aria-hidden': 'true' }),
    h('span', { class: 'conn-text' }));
  const show = () => {
    badge.hidden = !client.started;
    badge.dataset.state = client.state;
    badge.querySelector('.conn-text').textContent = t(`conn.${client.state}`);
    badge.title = client.stopReason ? client.stopReason : '';
  };
  client.addEventListener('status', show);
  onLanguageChange(show);
  show();
  return badge;
}

/** A polite announcement region for short status messages ("Question sent"). */
export function announcer() {
  const region = h('div', { class: 'sr-only', role: 'status', 'aria-live': 'polite' });
  document.body.append(region);
  let timer = 0;
  return (message) => {
    region.textContent = '';
    window.clearTimeout(timer);
    timer = window.setTimeout(() => { region.textContent = message; }, 50);
  };
}

/** Show a message in an element flagged as an error or a confirmation. */
/** The `reason`s of a refused display name (`error.field` "name"), each a `join.*` string. */
export const NAME_REFUSALS = new Set(['name_controls', 'name_role', 'name_empty', 'name_long']);

export function flash(node, message, kind = 'ok') {
  node.hidden = !message;
  node.textContent = message || '';
  node.dataset.kind = kind;
}

// ---------------------------------------------------------------- formatting

export function formatTime(ms) {
  if (!ms) return '';
  try {
    return new Intl.DateTimeFormat(currentLanguage(), { hour: '2-digit', minute: '2-digit' })
      .format(new Date(ms));
  } catch {
    return new Date(ms).toLocaleTimeString();
  }
}

/** mm:ss (or h:mm:ss) for a number of seconds; negative values get a minus sign. */
export function formatDuration(seconds) {
  const sign = seconds < 0 ? '-' : '';
  let s = Math.abs(Math.round(seconds));
  const hours = Math.floor(s / 3600);
  s -= hours * 3600;
  const minutes = Math.floor(s / 60);
  s -= minutes * 60;
  const two = (n) => String(n).padStart(2, '0');
  return hours ? `${sign}${hours}:${two(minutes)}:${two(s)}` : `${sign}${minutes}:${two(s)}`;
}

/** A language tag's name in the reader's language ("fr" -> "French" / "français"). */
export function languageName(tag) {
  try {
    const names = new Intl.DisplayNames([currentLanguage()], { type: 'language' });
    const name = names.of(tag);
    if (name && name !== tag) return name;
  } catch {
    /* unknown tag or no Intl.DisplayNames: fall back to the tag */
  }
  return tag;
}

const regionNames = new Map(); // one Intl.DisplayNames per language: lists call this a lot

export function regionName(code) {
  try {
    const lang = currentLanguage();
    if (!regionNames.has(lang)) regionNames.set(lang, new Intl.DisplayNames([lang], { type: 'region' }));
    return regionNames.get(lang).of(code) || code;
  } catch {
    return code;
  }
}

/** "Hub: Nairobi", "In the room", "Remote". */
export function originLabel(origin) {
  if (typeof origin === 'string' && origin.startsWith('hub:')) {
    return t('origin.hub', { name: origin.slice(4) });
  }
  return t(origin === 'room' ? 'origin.room' : 'origin.remote');
}

export function originKind(origin) {
  return typeof origin === 'string' && origin.startsWith('hub:') ? 'hub' : origin || 'remote';
}

export const kindLabel = (kind) => t(`kind.${kind}`);
export const statusLabel = (status) => t(`status.${status}`);

/** User text inside a translated sentence, isolated so its direction cannot scramble it. */
export function bidi(text) {
  return `\u2068${text}\u2069`;
}

export function badge(text, variant) {
  return h('span', { class: `badge badge-${variant}` }, text);
}

/** The page's URL parts: session id and role from the path, token and extras from the hash. */
export function pageLink(loc = window.location) {
  const match = loc.pathname.match(/^\/s\/([^/]+)\/([a-z]+)\/?$/);
  const params = new URLSearchParams(loc.hash.replace(/^#/, ''));
  return {
    session: match ? decodeURIComponent(match[1]) : null,
    role: match ? match[2] : null,
    token: params.get('token'),
    params,
  };
}

/** Fetch JSON from the hub's HTTP API with a bearer token; throws {status, code, message}. */
export async function api(method, path, { token, body } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store', credentials: 'omit',
    });
  } catch (err) {
    throw { status: 0, code: 'network', message: String(err && err.message) };
  }
  const type = response.headers.get('Content-Type') || '';
  const data = type.includes('json') ? await response.json().catch(() => null) : null;
  if (!response.ok) {
    const error = (data && data.error) || {};
    throw { status: response.status, code: error.code || `http_${response.status}`,
      message: error.message || response.statusText, field: error.field };
  }
  return data;
}

/** The human sentence for an error frame or API error, in the reader's language. */
export function errorText(error) {
  if (!error) return t('error.generic');
  const code = error.code || 'generic';
  const known = ['bad_request', 'unauthorized', 'forbidden', 'not_found', 'conflict',
    'rate_limited', 'too_large', 'unavailable', 'network', 'offline'];
  if (code === 'rate_limited' && error.retry_after) {
    return t('error.rate_limited_wait', { seconds: Math.ceil(error.retry_after) });
  }
  return t(known.includes(code) ? `error.${code}` : 'error.generic');
}

/** Boot a page: preferences, then translations (setLanguage fills every data-i18n node). */
export function bootPage(titleKey) {
  applyPrefs();
  const setTitle = () => { document.title = `${t(titleKey)} · ${t('app.name')}`; };
  onLanguageChange(setTitle);
  setLanguage(currentLanguage(), { persist: false });
  setTitle();
}

// ---------------------------------------------------------------- shared vocabularies

export const STAKEHOLDERS = ['government', 'civil_society', 'private_sector', 'technical', 'academia',
  'intergovernmental', 'media', 'other'];
export const GENDERS = ['woman', 'man', 'nonbinary', 'undisclosed'];
export const COUNTRIES = ('AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL '
  + 'BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE '
  + 'DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ '
  + 'GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM '
  + 'KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ '
  + 'MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN '
  + 'PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY '
  + 'SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF '
  + 'WS YE YT ZA ZM ZW').split(' ');

/** <option>s of every country, by name in the reader's language, after a "no answer" one. */
export function countryOptions(emptyKey = 'profile.not_said') {
  const countries = COUNTRIES.map((code) => [code, regionName(code)])
    .sort((a, b) => a[1].localeCompare(b[1]));
  return [h('option', { value: '', text: t(emptyKey) }),
    ...countries.map(([code, name]) => h('option', { value: code, text: name }))];
}

const DIMENSION_KEYS = {
  stakeholder: 'profile.stakeholder', country: 'profile.country', region: 'dim.region',
  economy: 'dim.economy', gender: 'profile.gender', youth: 'dim.youth', origin: 'dim.origin',
  attendance: 'dim.origin', hub: 'presence.hubs_title',
};

/** The name of a profile cut ("Stakeholder group", "Region", ...). */
export function dimensionLabel(dimension) {
  return DIMENSION_KEYS[dimension] ? t(DIMENSION_KEYS[dimension]) : dimension;
}

/** A group of one cut in the reader's language: "Civil society", "Africa", "Hubs", "Kenya". */
export function groupLabel(dimension, group) {
  const common = { not_declared: 'group.not_declared', unknown: 'group.unknown',
    other_countries: 'group.other_countries' };
  if (common[group]) return t(common[group]);
  switch (dimension) {
    case 'stakeholder': return STAKEHOLDERS.includes(group) ? t(`stakeholder.${group}`) : group;
    case 'gender': return GENDERS.includes(group) ? t(`gender.${group}`) : group;
    case 'country': return regionName(group);
    case 'region': return t(`region.${group}`) === `region.${group}` ? group : t(`region.${group}`);
    case 'economy': return group === 'developed' || group === 'developing' ? t(`economy.${group}`) : group;
    case 'youth': return group === 'youth' || group === 'not_youth' ? t(`group.${group}`) : group;
    case 'origin':
    case 'attendance':
      if (group === 'room') return t('origin.room');
      if (group === 'remote') return t('group.remote');
      if (group === 'hub' || group === 'hubs') return t('group.hubs');
      return group;
    default: return group; // hub names and other user-given groups, as they are
  }
}

/** "3 minutes ago", "in 2 hours", "now": a past or future server time, relative to `now`. */
export function relativeTime(ms, now = Date.now()) {
  if (!ms) return '';
  const seconds = Math.round((ms - now) / 1000);
  const units = [['day', 86400], ['hour', 3600], ['minute', 60], ['second', 1]];
  try {
    const format = new Intl.RelativeTimeFormat(currentLanguage(), { numeric: 'auto' });
    if (Math.abs(seconds) < 45) return format.format(0, 'second');
    for (const [unit, size] of units) {
      if (Math.abs(seconds) >= size) return format.format(Math.round(seconds / size), unit);
    }
  } catch {
    /* no Intl.RelativeTimeFormat: the clock time says it too */
  }
  return formatTime(ms);
}

/** A button that copies `input`'s value, saying so through `say`. */
export function copyButton(input, label, say) {
  const button = h('button', { type: 'button', class: 'btn btn-sm', 'aria-label': label }, t('org.copy'));
  button.addEventListener('click', async () => {
    let ok = false;
    try {
      await navigator.clipboard.writeText(input.value);
      ok = true;
    } catch {
      input.select();
      ok = Boolean(document.execCommand && document.execCommand('copy'));
    }
    if (say) say(ok ? t('org.copied') : t('org.copy_failed'));
    button.textContent = ok ? t('org.copied_short') : t('org.copy');
    window.setTimeout(() => { button.textContent = t('org.copy'); }, 2000);
  });
  return button;
}

/** A number from an <input>: a whole number within [min, max], or null when empty; NaN when bad. */
export function wholeNumber(input, min, max) {
  const raw = input.value.trim();
  if (!raw) return null;
  const n = Number(raw);
  return Number.isInteger(n) && n >= min && n <= max ? n : Number.NaN;
}

/**
 * Why the hub refused this page for good, in the reader's language (a `fatal` event's
 * detail). A retired or expired link is told apart by the server's message: the error code
 * is the same `unauthorized` as for a forged one.
 */
export function fatalText({ code, message, reason } = {}) {
  if (NAME_REFUSALS.has(reason)) return t(`join.${reason}`);
  if (code === 'not_found') return t('link.not_found');
  if (code === 'forbidden') return t(/organizer/i.test(String(message || '')) ? 'link.revoked' : 'link.removed');
  if (/retired/i.test(String(message || ''))) return t('link.retired');
  if (/expir/i.test(String(message || ''))) return t('link.expired');
  return t('link.refused');
}
