// The captioner's typing surface: each line is sent when committed (Enter) with a
// sequence number per language. Lines wait in the outbox until acknowledged and are
// re-sent with the same `seq` after a reconnect or a reload, so nothing typed is lost
// and nothing is shown twice.

import { HubClient } from './client.js';
import { t, onLanguageChange } from './i18n.js';
import {
  h, $, fill, storage, pageLink, bootPage, connectionBadge, languagePicker, announcer,
  displaySettings, languageName, formatTime, errorText, flash, fatalText,
} from './ui.js';
import { textDirection } from './audience.js';

bootPage('page.captioner');
const link = pageLink();
const say = announcer();
const linesKey = `igf:${link.session}:captioner:lines`;
const draftKey = `igf:${link.session}:captioner:draft`;
const langKey = `igf:${link.session}:captioner:lang`;
const KEEP_LINES = 200;

const client = new HubClient({ session: link.session, role: 'captioner', joinToken: link.token, keepCaptions: 100 });
const model = client.model;
$('#tools').append(connectionBadge(client), languagePicker());

/** Every line this captioner committed: {lang, seq, text, status, at, error?}. */
let lines = storage.get(linesKey, []);
const saveLines = () => storage.set(linesKey, lines.slice(-KEEP_LINES));

const input = $('#caption-input');
const langSelect = $('#caption-lang');
const sentList = $('#sent-list');
const message = $('#caption-message');

function languages() {
  return (model.session && model.session.languages) || [];
}

function currentLang() {
  return langSelect.value || languages()[0] || 'en';
}

/** The next seq for `lang`: above everything the hub accepted and everything typed here. */
function nextSeq(lang) {
  let top = model.captionSeq[lang] || 0;
  for (const line of lines) if (line.lang === lang && line.seq > top) top = line.seq;
  return top + 1;
}

function commit(text) {
  const parts = text.split(/\r?\n/).map((s) => s.trim()).filter(Boolean);
  if (!parts.length) return;
  const lang = currentLang();
  for (const part of parts) {
    const line = { lang, seq: nextSeq(lang), text: part, status: 'queued', at: Date.now() };
    lines.push(line);
    transmit(line);
  }
  saveLines();
  render();
}

function transmit(line) {
  line.status = client.live ? 'sending' : 'queued';
  client.send('caption', { text: line.text, lang: line.lang, final: true, seq: line.seq },
    { persist: true }).catch(() => { /* reported through the `failed` event */ });
}

function findLine(frame) {
  return lines.find((l) => l.lang === frame.lang && l.seq === frame.seq && l.text === frame.text);
}

/** A repeated seq whose accepted text differs: someone else used it; send ours again anew. */
function collided(line) {
  const known = (model.captions[line.lang] || []).filter((c) => c.seq === line.seq);
  return known.length > 0 && !known.some((c) => c.text === line.text);
}

client.addEventListener('ack', (ev) => {
  const { frame, reply } = ev.detail;
  if (frame.type !== 'caption') return;
  const line = findLine(frame);
  if (!line) return;
  if (reply.duplicate && collided(line)) {
    line.seq = nextSeq(line.lang);
    transmit(line);
  } else {
    line.status = 'acked';
  }
  saveLines();
  render();
});
client.addEventListener('failed', (ev) => {
  const { frame, error } = ev.detail;
  if (frame.type !== 'caption') return;
  const line = findLine(frame);
  if (!line) return;
  line.status = 'failed';
  line.error = errorText(error);
  saveLines();
  render();
  say(t('cap.failed_line', { error: line.error }));
});
function refreshStatuses() {
  for (const line of lines) {
    if (line.status === 'queued' && client.live) line.status = 'sending';
    if (line.status === 'sending' && !client.live) line.status = 'queued';
  }
  render();
}
client.addEventListener('outbox', refreshStatuses);
client.addEventListener('status', refreshStatuses);

// ---------------------------------------------------------------- typing

input.value = storage.get(draftKey, '');
input.addEventListener('input', () => storage.set(draftKey, input.value));
input.addEventListener('keydown', (ev) => {
  if (ev.key !== 'Enter' || ev.shiftKey || ev.isComposing) return;
  ev.preventDefault();
  send();
});
$('#caption-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  send();
});

function send() {
  const text = input.value;
  if (!text.trim()) return;
  if (model.session && model.session.state === 'closed') {
    flash(message, t('cap.closed'), 'error');
    return;
  }
  flash(message, '');
  input.value = '';
  storage.set(draftKey, '');
  commit(text);
  input.focus();
}

langSelect.addEventListener('change', () => {
  storage.set(langKey, langSelect.value);
  render();
});

// ---------------------------------------------------------------- rendering

function fillLanguages() {
  const tags = languages();
  const keep = langSelect.value || storage.get(langKey) || tags[0];
  fill(langSelect, tags.map((tag) => h('option', { value: tag, lang: tag }, languageName(tag))));
  langSelect.value = tags.includes(keep) ? keep : tags[0] || '';
}

function render() {
  const lang = currentLang();
  input.lang = lang;
  input.dir = textDirection(lang);
  $('#next-seq').textContent = t('cap.next_seq', { lang: languageName(lang), seq: nextSeq(lang) });
  const waiting = client.pending().filter((p) => p.frame.type === 'caption').length;
  $('#outbox-count').textContent = waiting ? t('cap.waiting', { n: waiting }) : t('cap.all_acked');
  $('#outbox-count').dataset.kind = waiting ? 'waiting' : 'ok';
  const shown = lines.slice(-50).reverse();
  $('#sent-empty').hidden = shown.length > 0;
  fill(sentList, shown.map((line) => h('li', { class: 'sent-line', dataset: { status: line.status } },
    h('span', { class: 'sent-seq' }, `${line.lang} #${line.seq}`),
    h('span', { class: 'sent-text', dir: 'auto', lang: line.lang }, line.text),
    h('span', { class: `badge badge-status-${statusVariant(line.status)}` },
      line.status === 'failed' ? `${t('cap.status_failed')}: ${line.error || ''}` : t(`cap.status_${line.status}`),
      line.status === 'acked' ? ` · ${formatTime(line.at)}` : ''))));
  const closed = model.session && model.session.state === 'closed';
  $('#closed-note').hidden = !closed;
}

function statusVariant(status) {
  return { acked: 'approved', failed: 'rejected', sending: 'pending', queued: 'pending' }[status] || 'pending';
}

function showSession() {
  const session = model.session;
  $('#session-title').textContent = session ? session.title : t('page.captioner');
  const state = $('#session-state');
  state.textContent = session ? t(`session.state_${session.state}`) : '';
  state.dataset.state = session ? session.state : '';
}

client.addEventListener('welcome', () => {
  showSession();
  fillLanguages();
  render();
});
client.addEventListener('update', (ev) => {
  if (ev.detail.kind === 'session') {
    showSession();
    fillLanguages();
    render();
  } else if (ev.detail.kind === 'caption') {
    render();
  }
});
client.addEventListener('fatal', (ev) => flash($('#fatal'), fatalText(ev.detail), 'error'));
onLanguageChange(() => {
  showSession();
  fillLanguages();
  render();
});
$('#display-settings').append(...displaySettings());

if (!link.session || !client.canJoin) {
  flash($('#fatal'), t('link.missing'), 'error');
} else {
  $('#app').hidden = false;
  if (model.session) {
    showSession();
    fillLanguages();
  }
  render();
  client.start();
  input.focus();
}
