// The pages' texts in English, French, Spanish, Arabic, Chinese (Simplified) and Russian,
// and the helpers that apply them. Elements carry `data-i18n="key"` (text) or
// `data-i18n-attr="aria-label:key;placeholder:key"`; code calls t('key', {vars}).
// The language follows the browser (navigator.languages) until the reader picks one.
//
// The strings are one module per language (web/js/i18n/<code>.js): a page fetches English
// (the fallback for a missing key) and its own language only, the others when the reader
// switches to them. This module waits for the page's language before any page script runs
// (a top-level await: every module importing this one waits), so t() stays synchronous.

import en from './i18n/en.js';

export const LANGUAGES = [
  { code: 'en', tag: 'en', name: 'English', dir: 'ltr' },
  { code: 'fr', tag: 'fr', name: 'Français', dir: 'ltr' },
  { code: 'es', tag: 'es', name: 'Español', dir: 'ltr' },
  { code: 'ar', tag: 'ar', name: 'العربية', dir: 'rtl' },
  { code: 'zh', tag: 'zh-Hans', name: '中文（简体）', dir: 'ltr' },
  { code: 'ru', tag: 'ru', name: 'Русский', dir: 'ltr' },
];

const STORE_KEY = 'igf.lang';
const listeners = new Set();
// The strings of each language fetched so far; `current` is always one of them.
const STRINGS = { en };
const loading = new Map();
let current = 'en';
let wanted = 'en';

const known = (code) => LANGUAGES.some((l) => l.code === code);

/** The strings of `code` (a known language), fetched once. */
function load(code) {
  if (STRINGS[code]) return Promise.resolve(STRINGS[code]);
  if (!loading.has(code)) {
    loading.set(code, import(`./i18n/${code}.js`).then((module) => {
      STRINGS[code] = module.default;
      return module.default;
    }, (error) => {
      loading.delete(code); // a later switch tries again
      throw error;
    }));
  }
  return loading.get(code);
}

function stored() {
  try {
    return window.localStorage.getItem(STORE_KEY);
  } catch {
    return null;
  }
}

/** The language to use: the reader's choice, else the first browser language we have. */
export function detectLanguage(preferred = navigator.languages || [navigator.language]) {
  const choice = stored();
  if (choice && known(choice)) return choice;
  for (const tag of preferred || []) {
    const base = String(tag).toLowerCase().split('-')[0];
    if (known(base)) return base;
  }
  return 'en';
}

export function currentLanguage() {
  return current;
}

/** The string for `key` in the current language, with {name} placeholders filled. */
export function t(key, vars = {}) {
  const lang = currentLanguage();
  let text = STRINGS[lang][key];
  if (text === undefined) text = STRINGS.en[key];
  if (text === undefined) return key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}

/** Fill every `data-i18n` / `data-i18n-attr` element under `root`. */
export function applyTranslations(root = document) {
  const nodes = [];
  if (root.nodeType === 1 && (root.dataset.i18n || root.dataset.i18nAttr)) nodes.push(root);
  if (root.querySelectorAll) nodes.push(...root.querySelectorAll('[data-i18n], [data-i18n-attr]'));
  for (const node of nodes) {
    if (node.dataset.i18n) node.textContent = t(node.dataset.i18n);
    if (node.dataset.i18nAttr) {
      for (const pair of node.dataset.i18nAttr.split(';')) {
        const [attr, key] = pair.split(':').map((s) => s.trim());
        if (attr && key) node.setAttribute(attr, t(key));
      }
    }
  }
}

function apply(lang) {
  current = lang;
  const meta = LANGUAGES.find((l) => l.code === lang);
  document.documentElement.lang = meta.tag;
  document.documentElement.dir = meta.dir;
  applyTranslations(document);
  for (const fn of listeners) fn(lang);
}

/** Switch the page to `code`: <html lang/dir>, every marked element, and listeners; at
 * once when its strings are here, else once they are fetched (the promise resolves then).
 * Of several switches in flight, the last one wins. */
export function setLanguage(code, { persist = true } = {}) {
  const lang = known(code) ? code : 'en';
  wanted = lang;
  if (persist) {
    try {
      window.localStorage.setItem(STORE_KEY, lang);
    } catch {
      /* not persisted: the choice lasts for this page */
    }
  }
  if (STRINGS[lang]) {
    apply(lang);
    return Promise.resolve();
  }
  return load(lang).then(() => {
    if (wanted === lang) apply(lang);
  }, (error) => {
    console.warn(`the ${lang} texts could not be loaded: ${error}`);
  });
}

export function onLanguageChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Keys missing per language, every language fetched (the tests check there are none). */
export async function missingKeys() {
  await Promise.all(LANGUAGES.map(({ code }) => load(code)));
  const out = {};
  for (const { code } of LANGUAGES) {
    const missing = Object.keys(STRINGS.en).filter((key) => !(key in STRINGS[code]));
    if (missing.length) out[code] = missing;
  }
  return out;
}

// Elements added later (panels built by the pages) are translated as they arrive.
if (typeof MutationObserver !== 'undefined' && typeof document !== 'undefined') {
  new MutationObserver((records) => {
    for (const record of records) {
      for (const node of record.addedNodes) {
        if (node.nodeType === 1) applyTranslations(node);
      }
    }
  }).observe(document.documentElement, { childList: true, subtree: true });
}

// The page's language, before any page script runs (English when its file cannot be had).
{
  const lang = detectLanguage();
  try {
    await load(lang);
    current = lang;
    wanted = lang;
  } catch (error) {
    console.warn(`the ${lang} texts could not be loaded: ${error}`);
  }
}
