// Panels shared by the participant, hub and screen pages: captions, the floor, asking,
// one's own items, the approved queue with votes, moderators' notes, and (on a hub's relay)
// the state of the link to the meeting.

import { t, currentLanguage, onLanguageChange, LANGUAGES } from './i18n.js';
import {
  h, fill, randomKey, storage, formatTime, formatDuration, languageName, originLabel,
  originKind, kindLabel, statusLabel, badge, bidi, errorText, flash, reducedMotion,
} from './ui.js';

const STICK_PX = 48;
const KINDS = ['question', 'comment', 'floor', 'point_of_order'];
const VOTABLE = new Set(['question', 'comment']);
const RTL_LANGUAGES = new Set(['ar', 'arc', 'ckb', 'dv', 'fa', 'he', 'ks', 'ku', 'ps', 'sd', 'ug', 'ur', 'yi']);

/** The writing direction of a language tag (captions are shown in their own direction). */
export function textDirection(tag) {
  return RTL_LANGUAGES.has(String(tag || '').toLowerCase().split('-')[0]) ? 'rtl' : 'ltr';
}

/** The caption language to show: the reader's choice, else the UI language, else the floor's. */
export function preferredCaptionLanguage(languages, stored) {
  if (!languages || !languages.length) return stored || 'en';
  if (stored && languages.includes(stored)) return stored;
  const ui = currentLanguage();
  const match = languages.find((tag) => tag === ui || tag.split('-')[0] === ui);
  return match || languages[0];
}

// ---------------------------------------------------------------- captions

/**
 * Live captions: an ARIA log (polite, additions only) that keeps the reader's scroll
 * position when they scroll back, with a "jump to live" button.
 */
export function captionsPanel(client, { headingLevel = 'h2', id = 'captions', storeKey = 'igf.captionLang',
  big = false, fixedLang = null } = {}) {
  const heading = h(headingLevel, { id: `${id}-title`, dataset: { i18n: 'captions.title' } });
  const select = h('select', { id: `${id}-lang`, class: 'inline-select' });
  const selectLabel = h('label', { for: `${id}-lang`, class: 'inline-label', dataset: { i18n: 'captions.language' } });
  const log = h('div', {
    id: `${id}-log`, class: big ? 'caption-log caption-log-big' : 'caption-log', role: 'log',
    'aria-live': 'polite', 'aria-relevant': 'additions', 'aria-labelledby': `${id}-title`,
    tabindex: '0',
  });
  const partial = h('p', { class: 'caption-partial', 'aria-hidden': 'true', hidden: true });
  const empty = h('p', { class: 'empty', dataset: { i18n: 'captions.empty' } });
  const jump = h('button', { type: 'button', class: 'btn btn-primary jump-live', hidden: true });
  const root = h('section', { class: big ? 'captions captions-big' : 'card captions', 'aria-labelledby': `${id}-title` },
    h('div', { class: 'card-head' }, heading,
      h('div', { class: 'inline-field' }, selectLabel, select)),
    h('div', { class: 'caption-frame' }, empty, log, partial, jump));

  let lang = fixedLang;
  let unseen = 0;
  let lastSpeaker = null;

  const atBottom = () => log.scrollHeight - log.scrollTop - log.clientHeight < STICK_PX;
  const toBottom = (smooth) => {
    log.scrollTo({ top: log.scrollHeight, behavior: smooth && !reducedMotion() ? 'smooth' : 'auto' });
  };
  const showJump = () => {
    jump.hidden = unseen === 0;
    jump.textContent = unseen ? t('captions.jump', { n: unseen }) : '';
  };

  const lineNode = (line) => {
    const node = h('p', { class: 'cap', dataset: { seq: line.seq ?? '' } });
    if (line.speaker && line.speaker !== lastSpeaker) {
      node.append(h('span', { class: 'cap-speaker' }, t('captions.speaker', { name: bidi(line.speaker) })), ' ');
    }
    lastSpeaker = line.speaker || lastSpeaker;
    node.append(h('span', { class: 'cap-text' }, line.text));
    return node;
  };

  const showPartial = () => {
    const line = client.model.partial[lang];
    partial.hidden = !line || !line.text;
    partial.textContent = line ? line.text : '';
  };

  const renderAll = () => {
    const languages = (client.model.session && client.model.session.languages) || [];
    if (!fixedLang) lang = preferredCaptionLanguage(languages, storage.get(storeKey));
    fill(select, languages.map((tag) => h('option', { value: tag, lang: tag, text: languageName(tag) })));
    select.value = lang;
    select.disabled = languages.length < 2;
    const lines = client.model.captions[lang] || [];
    // Re-rendering the whole log must not be read out again: mute it while it is rebuilt.
    log.setAttribute('aria-live', 'off');
    lastSpeaker = null;
    fill(log, lines.map(lineNode));
    log.lang = lang;
    log.dir = textDirection(lang);
    partial.lang = lang;
    partial.dir = log.dir;
    empty.hidden = lines.length > 0;
    unseen = 0;
    showJump();
    showPartial();
    toBottom(false);
    window.setTimeout(() => log.setAttribute('aria-live', 'polite'), 0);
  };

  const addLine = (line) => {
    if (line.lang !== lang) return;
    if (line.final === false) {
      showPartial();
      return;
    }
    const stick = atBottom();
    log.append(lineNode(line));
    const keep = client.model.keepCaptions;
    while (log.childElementCount > keep) log.firstElementChild.remove();
    empty.hidden = true;
    showPartial();
    if (stick) toBottom(true);
    else {
      unseen += 1;
      showJump();
    }
  };

  log.addEventListener('scroll', () => {
    if (atBottom() && unseen) {
      unseen = 0;
      showJump();
    }
  }, { passive: true });
  jump.addEventListener('click', () => {
    unseen = 0;
    showJump();
    toBottom(true);
    log.focus({ preventScroll: true });
  });
  select.addEventListener('change', () => {
    storage.set(storeKey, select.value);
    lang = select.value;
    renderAll();
  });
  client.addEventListener('welcome', (ev) => {
    if (!ev.detail.recovered || !log.childElementCount) renderAll();
  });
  client.addEventListener('update', (ev) => {
    const { kind, data, ts } = ev.detail;
    if (kind === 'caption') addLine({ ...data, ts });
    else if (kind === 'session' && data.languages) renderAll();
  });
  onLanguageChange(() => { if (client.model.session) renderAll(); });
  if (client.model.session) renderAll();
  return { root, log, renderAll };
}

// ---------------------------------------------------------------- floor

/** Who has the floor, on which item, and the speaking time (a countdown when limited). */
export function floorPanel(client, { id = 'floor', big = false } = {}) {
  const title = h('h2', { id: `${id}-title`, dataset: { i18n: 'floor.title' } });
  const speaker = h('p', { class: 'floor-speaker', dir: 'auto' });
  const text = h('p', { class: 'floor-text', dir: 'auto' });
  const meta = h('p', { class: 'floor-meta' });
  const timer = h('p', { class: 'floor-timer', role: 'timer', 'aria-live': 'off' });
  const root = h('section', { class: big ? 'floor floor-big' : 'card floor', 'aria-labelledby': `${id}-title` },
    title, speaker, text, meta, timer);
  let ticker = 0;

  const tick = () => {
    const floor = client.model.floor;
    if (!floor.item || !floor.since) {
      timer.hidden = true;
      return;
    }
    const elapsed = (client.serverNow() - floor.since) / 1000;
    timer.hidden = false;
    if (floor.limit) {
      const left = floor.limit - elapsed;
      timer.dataset.over = left < 0 ? 'yes' : 'no';
      timer.textContent = left >= 0
        ? t('floor.time_left', { time: formatDuration(left) })
        : t('floor.over_time', { time: formatDuration(-left) });
    } else {
      timer.dataset.over = 'no';
      timer.textContent = t('floor.speaking_for', { time: formatDuration(Math.max(0, elapsed)) });
    }
  };

  const render = () => {
    const floor = client.model.floor;
    const item = floor.item ? client.model.items.get(floor.item) : null;
    root.dataset.live = floor.item ? 'yes' : 'no';
    if (!floor.item) {
      speaker.textContent = t('floor.nobody');
      text.hidden = true;
      meta.hidden = true;
    } else {
      const who = item && item.hub_attendee ? authorName(item)
        : floor.speaker || (item && item.author) || t('item.anonymous');
      const affiliation = item && item.affiliation ? ` · ${item.affiliation}` : '';
      speaker.textContent = `${who}${affiliation}`;
      text.hidden = !item || item.kind === 'floor';
      text.textContent = item ? item.text : '';
      meta.hidden = !item;
      if (item) {
        fill(meta, badge(kindLabel(item.kind), `kind-${item.kind}`), ' ',
          badge(originLabel(item.origin), `origin-${originKind(item.origin)}`));
      }
    }
    window.clearInterval(ticker);
    tick();
    if (floor.item) ticker = window.setInterval(tick, 1000);
  };

  client.addEventListener('welcome', render);
  client.addEventListener('update', (ev) => {
    const { kind, data } = ev.detail;
    if (kind === 'floor' || (kind === 'item' && data.id === client.model.floor.item)) render();
  });
  onLanguageChange(render);
  if (client.model.session) render();
  return { root, render };
}

// ---------------------------------------------------------------- asking

/** The ask form: a question, a comment or a request to speak, in a chosen language. */
export function askForm(client, { say, allowAnonymous = () => false, defaultAnonymous = () => false,
  id = 'ask' } = {}) {
  const title = h('h2', { id: `${id}-title`, dataset: { i18n: 'ask.title' } });
  const kinds = KINDS.map((kind, index) => {
    const input = h('input', { type: 'radio', name: `${id}-kind`, id: `${id}-kind-${kind}`,
      value: kind, checked: index === 0 });
    return h('span', { class: 'choice' }, input,
      h('label', { for: `${id}-kind-${kind}`, dataset: { i18n: `kind.${kind}` } }));
  });
  const kindSet = h('fieldset', { class: 'choices' },
    h('legend', { dataset: { i18n: 'ask.kind' } }), kinds);
  const text = h('textarea', { id: `${id}-text`, name: 'text', rows: '3', maxlength: '2000',
    'aria-describedby': `${id}-count` });
  const textLabel = h('label', { for: `${id}-text`, dataset: { i18n: 'ask.text' } });
  const count = h('p', { id: `${id}-count`, class: 'hint counter' });
  const lang = h('select', { id: `${id}-lang` });
  const langLabel = h('label', { for: `${id}-lang`, dataset: { i18n: 'ask.language' } });
  const anon = h('input', { type: 'checkbox', id: `${id}-anon` });
  const anonRow = h('div', { class: 'check', hidden: true }, anon,
    h('label', { for: `${id}-anon`, dataset: { i18n: 'ask.anonymous' } }));
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', dataset: { i18n: 'ask.send' } });
  const message = h('p', { class: 'form-message', role: 'status', hidden: true });
  const closedNote = h('p', { class: 'notice', hidden: true, dataset: { i18n: 'ask.list_closed' } });
  const form = h('form', { class: 'stack', novalidate: true }, closedNote, kindSet,
    h('div', { class: 'field' }, textLabel, text, count),
    h('div', { class: 'field' }, langLabel, lang), anonRow,
    h('div', { class: 'actions' }, submit), message);
  const root = h('section', { class: 'card ask', 'aria-labelledby': `${id}-title` }, title, form);

  const kind = () => form.querySelector(`input[name="${id}-kind"]:checked`).value;
  const itemMax = () => (client.model.session && client.model.session.settings
    && client.model.session.settings.item_max) || 2000;
  const showCount = () => {
    text.maxLength = itemMax();
    count.textContent = t('ask.count', { n: text.value.length, max: itemMax() });
    text.placeholder = t(kind() === 'floor' ? 'ask.placeholder_floor' : 'ask.placeholder');
  };
  const fillLanguages = () => {
    const session = client.model.session;
    const tags = [...new Set([...(session ? session.languages : []), ...LANGUAGES.map((l) => l.code)])];
    const keep = lang.value || preferredCaptionLanguage(tags, null);
    fill(lang, tags.map((tag) => h('option', { value: tag, lang: tag, text: languageName(tag) })));
    lang.value = tags.includes(keep) ? keep : tags[0];
    anonRow.hidden = !allowAnonymous();
    if (anonRow.hidden) anon.checked = false;
  };
  let anonDefaulted = false;
  const applyListClosed = () => {
    const session = client.model.session;
    const closed = Boolean(session && session.settings && session.settings.list_closed);
    closedNote.hidden = !closed;
    for (const input of form.querySelectorAll(`input[name="${id}-kind"]`)) {
      input.disabled = closed && input.value !== 'point_of_order';
    }
    if (closed) form.querySelector(`#${id}-kind-point_of_order`).checked = true;
  };
  const onSession = () => {
    fillLanguages();
    applyListClosed();
    if (!anonDefaulted && allowAnonymous()) {
      anon.checked = defaultAnonymous();
      anonDefaulted = true;
    }
    showCount();
  };

  text.addEventListener('input', showCount);
  form.addEventListener('change', showCount);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    let value = text.value.trim();
    const chosen = kind();
    if (!value && chosen === 'floor') value = t('ask.floor_default');
    if (!value) {
      flash(message, t('ask.empty'), 'error');
      text.focus();
      return;
    }
    const frame = { kind: chosen, text: value, key: randomKey(), lang: lang.value };
    if (!anonRow.hidden && anon.checked) frame.anonymous = true;
    text.value = '';
    showCount();
    flash(message, t(client.live ? 'ask.sending' : 'ask.queued'), 'ok');
    client.send('ask', frame, { persist: true }).then((ack) => {
      const moderated = !client.model.session || client.model.session.settings.premoderation;
      const item = ack && client.model.items.get(ack.item);
      // A hub attendee's item waits at the hub (its status `local`) before the meeting.
      const sent = item && item.status === 'local' ? t('ask.sent_hub')
        : t(moderated ? 'ask.sent_moderated' : 'ask.sent_published');
      flash(message, sent, 'ok');
      if (say) say(sent);
    }, (error) => {
      text.value = text.value || frame.text;
      showCount();
      flash(message, errorText(error), 'error');
    });
  });
  client.addEventListener('welcome', onSession);
  client.addEventListener('update', (ev) => { if (ev.detail.kind === 'session') onSession(); });
  onLanguageChange(() => { fillLanguages(); showCount(); });
  if (client.model.session) onSession();
  showCount();
  return { root, form, text };
}

// ---------------------------------------------------------------- one's own items

function statusVariant(status) {
  return `status-${status}`;
}

/** The reader's own items with their status, a rejection's reason, and withdraw. */
export function myItemsPanel(client, { say, titleKey = 'mine.title', id = 'mine' } = {}) {
  const title = h('h2', { id: `${id}-title`, dataset: { i18n: titleKey } });
  const list = h('ul', { class: 'item-list', id: `${id}-list` });
  const empty = h('p', { class: 'empty', dataset: { i18n: 'mine.empty' } });
  const root = h('section', { class: 'card mine', 'aria-labelledby': `${id}-title` }, title, empty, list);
  const known = new Map();

  const render = () => {
    const own = [...client.model.mine].map((iid) => client.model.items.get(iid)).filter(Boolean);
    own.sort((a, b) => (b.created || 0) - (a.created || 0));
    // An ask's item can arrive a moment before its ack: show it once, as the item.
    const landed = new Map();
    const recent = client.serverNow() - 120000;
    for (const item of own) {
      if ((item.created || 0) >= recent) {
        const key = `${item.kind}\n${item.text}`;
        landed.set(key, (landed.get(key) || 0) + 1);
      }
    }
    const queued = client.pending().filter((p) => {
      if (p.frame.type !== 'ask') return false;
      const key = `${p.frame.kind}\n${p.frame.text.trim()}`;
      if (!p.sent || !landed.get(key)) return true;
      landed.set(key, landed.get(key) - 1);
      return false;
    });
    const rows = queued.map((p) => h('li', { class: 'item', dataset: { status: 'sending' } },
      h('div', { class: 'item-head' }, badge(kindLabel(p.frame.kind), `kind-${p.frame.kind}`),
        badge(t(client.live ? 'status.sending' : 'status.queued'), 'status-pending')),
      h('p', { class: 'item-text', dir: 'auto' }, p.frame.text)));
    for (const item of own) rows.push(ownItem(client, item, say));
    fill(list, rows);
    empty.hidden = rows.length > 0;
  };

  client.addEventListener('welcome', () => {
    for (const iid of client.model.mine) {
      const item = client.model.items.get(iid);
      if (item) known.set(iid, item.status);
    }
    render();
  });
  client.addEventListener('outbox', render);
  client.addEventListener('update', (ev) => {
    const { kind, data, channel } = ev.detail;
    if (kind !== 'item' && kind !== 'vote') return;
    if (kind === 'item' && channel === 'private') {
      const before = known.get(data.id);
      known.set(data.id, data.status);
      if (before && before !== data.status && say) {
        say(t(`mine.now_${data.status}`, { text: bidi(shorten(data.text, 50)) }));
      }
    }
    if (kind === 'vote' || client.model.mine.has(data.id) || data.into) render();
  });
  onLanguageChange(render);
  if (client.model.session) render();
  return { root, render };
}

function ownItem(client, item, say) {
  const head = h('div', { class: 'item-head' },
    badge(kindLabel(item.kind), `kind-${item.kind}`),
    badge(statusLabel(item.status), statusVariant(item.status)),
    badge(originLabel(item.origin), `origin-${originKind(item.origin)}`));
  if (item.anonymous) head.append(badge(t('item.asked_anonymously'), 'muted'));
  const node = h('li', { class: 'item', dataset: { status: item.status, id: item.id } }, head,
    h('p', { class: 'item-text', dir: 'auto' }, item.text));
  const details = [];
  if (item.status === 'rejected') {
    details.push(item.reason ? t('mine.rejected_reason', { reason: bidi(item.reason) }) : t('mine.rejected_no_reason'));
  }
  if (item.status === 'merged') {
    const target = item.into && client.model.items.get(item.into);
    details.push(target ? t('mine.merged_into', { text: bidi(target.text) }) : t('mine.merged'));
  }
  if (item.edited) details.push(t('mine.edited'));
  if (item.backing) details.push(backingText(item));
  if (VOTABLE.has(item.kind) && (item.status === 'approved' || item.votes)) {
    details.push(t('item.votes', { n: item.votes || 0 }));
  }
  if (details.length) node.append(h('p', { class: 'item-detail' }, details.join(' · ')));
  if (item.status === 'local' || item.status === 'pending' || item.status === 'approved') {
    const withdraw = h('button', { type: 'button', class: 'btn btn-sm btn-ghost' },
      t('mine.withdraw'));
    withdraw.setAttribute('aria-label', t('mine.withdraw_label', { text: shorten(item.text) }));
    withdraw.addEventListener('click', () => {
      withdraw.disabled = true;
      client.send('withdraw', { item: item.id }).then(
        () => say && say(t('mine.withdrawn')),
        (error) => {
          withdraw.disabled = false;
          if (say) say(errorText(error));
        });
    });
    node.append(h('div', { class: 'actions' }, withdraw));
  }
  return node;
}

/** Who asked `item`. A name a hub declared for one of its attendees (the meeting cannot
 * check it) says so: "Amina (forwarded by Nairobi hub on behalf of an attendee)". */
export function authorName(item) {
  if (!item || !item.author) return t('item.anonymous');
  if (!item.hub_attendee) return item.author;
  const origin = String(item.origin || '');
  const hub = origin.startsWith('hub:') ? origin.slice(4) : '';
  return t('item.hub_attendee', { name: bidi(item.author), hub: bidi(hub) });
}

/** "Backed by 12 in Nairobi hub": how many of a hub's attendees back a forwarded item. */
export function backingText(item) {
  const origin = String(item.origin || '');
  const hub = origin.startsWith('hub:') ? origin.slice(4) : '';
  return hub ? t('item.backed_in', { n: item.backing, hub: bidi(hub) }) : t('item.backed', { n: item.backing });
}

export function shorten(text, max = 60) {
  const s = String(text || '');
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

// ---------------------------------------------------------------- the approved queue

/** Approved items in the moderators' order; questions and comments take a vote. */
export function queuePanel(client, { say, id = 'queue', canVote = true } = {}) {
  const title = h('h2', { id: `${id}-title`, dataset: { i18n: 'queue.title' } });
  const hint = h('p', { class: 'hint', id: `${id}-hint`, dataset: { i18n: 'queue.hint' } });
  const list = h('ol', { class: 'item-list queue-list', id: `${id}-list` });
  const empty = h('p', { class: 'empty', dataset: { i18n: 'queue.empty' } });
  const root = h('section', { class: 'card queue', 'aria-labelledby': `${id}-title` }, title, hint, empty, list);
  const busy = new Set();

  const render = () => {
    const focusedId = document.activeElement && document.activeElement.dataset
      ? document.activeElement.dataset.voteFor : null;
    // On a hub's relay the queue is the meeting's, and the meeting counts the votes.
    const relayed = Boolean(client.model.relay);
    const key = relayed ? 'queue.relay_hint' : 'queue.hint';
    if (hint.dataset.i18n !== key) {
      hint.dataset.i18n = key;
      hint.textContent = t(key);
    }
    const voting = canVote && !relayed;
    const items = client.model.order.map((iid) => client.model.items.get(iid)).filter(Boolean);
    fill(list, items.map((item) => queueItem(client, item, { say, canVote: voting, busy, render })));
    empty.hidden = items.length > 0;
    if (focusedId) {
      const again = list.querySelector(`[data-vote-for="${CSS.escape(focusedId)}"]`);
      if (again) again.focus();
    }
  };

  client.addEventListener('welcome', render);
  client.addEventListener('update', (ev) => {
    if (['item', 'order', 'vote', 'relay'].includes(ev.detail.kind)) render();
  });
  onLanguageChange(render);
  if (client.model.session) render();
  return { root, render };
}

function queueItem(client, item, { say, canVote, busy, render }) {
  const mine = client.model.mine.has(item.id);
  const head = h('div', { class: 'item-head' },
    badge(kindLabel(item.kind), `kind-${item.kind}`),
    badge(originLabel(item.origin), `origin-${originKind(item.origin)}`));
  if (mine) head.append(badge(t('item.yours'), 'mine'));
  const author = item.author && item.affiliation
    ? `${item.author} · ${item.affiliation}` : authorName(item);
  const node = h('li', { class: 'item', dataset: { id: item.id } }, head,
    h('p', { class: 'item-text', dir: 'auto' }, item.text),
    h('p', { class: 'item-author' }, author),
    item.backing ? h('p', { class: 'item-detail' }, backingText(item)) : null);
  if (VOTABLE.has(item.kind)) {
    const voted = client.model.votes.has(item.id);
    const count = h('span', { class: 'vote-count' }, t('item.votes', { n: item.votes || 0 }));
    if (canVote) {
      const button = h('button', { type: 'button', class: voted ? 'btn btn-sm btn-vote voted' : 'btn btn-sm btn-vote',
        'aria-pressed': voted ? 'true' : 'false', dataset: { voteFor: item.id },
        disabled: busy.has(item.id) || client.model.session.state === 'closed' },
      h('span', { 'aria-hidden': 'true', class: 'vote-icon' }, '▲'), ' ',
      t(voted ? 'queue.supported' : 'queue.support'));
      button.setAttribute('aria-label', t(voted ? 'queue.unsupport_label' : 'queue.support_label',
        { text: shorten(item.text) }));
      button.addEventListener('click', () => {
        busy.add(item.id);
        render();
        client.send('vote', voted ? { item: item.id, undo: true } : { item: item.id }).then(
          () => {
            busy.delete(item.id);
            render();
          },
          (error) => {
            busy.delete(item.id);
            render();
            if (say) say(errorText(error));
          });
      });
      node.append(h('div', { class: 'actions vote-row' }, button, count));
    } else {
      node.append(h('div', { class: 'actions vote-row' }, count));
    }
  }
  return node;
}

// ---------------------------------------------------------------- notes

/** Notes the moderators sent to this reader. */
export function notesPanel(client, { say, id = 'notes' } = {}) {
  const title = h('h2', { id: `${id}-title`, dataset: { i18n: 'notes.title' } });
  const list = h('ul', { class: 'note-list' });
  const root = h('section', { class: 'card notes', 'aria-labelledby': `${id}-title`, hidden: true }, title, list);
  const render = () => {
    const notes = [...client.model.notes].reverse();
    root.hidden = notes.length === 0;
    fill(list, notes.map((note) => h('li', { class: 'note' },
      h('p', { class: 'note-meta' }, t('notes.from', { name: bidi(note.from || t('role.moderator')), time: formatTime(note.ts) })),
      h('p', { class: 'note-text', dir: 'auto' }, note.text))));
  };
  client.addEventListener('welcome', render);
  client.addEventListener('update', (ev) => {
    if (ev.detail.kind !== 'note') return;
    render();
    if (say) say(t('notes.new', { name: ev.detail.data.from || t('role.moderator') }));
  });
  onLanguageChange(render);
  if (client.model.session) render();
  return { root, render };
}

// ---------------------------------------------------------------- a hub's relay

/**
 * On a hub's relay (the welcome snapshot has `relay`): one line saying whether the room is
 * linked to the meeting, in words as well as colour, updated on `relay` events. Hidden on
 * a normal server. `downKey` says what a reader of this page should know when it is down.
 */
export function relayStatus(client, { downKey = 'relay.down', id = 'relay-status' } = {}) {
  const text = h('span', { class: 'relay-text' });
  const root = h('p', { class: 'relay-status', id, role: 'status', 'aria-live': 'polite',
    hidden: true, dataset: { state: 'up' } },
  h('span', { class: 'relay-dot', 'aria-hidden': 'true' }), text);

  const render = () => {
    const relay = client.model.relay;
    root.hidden = !relay;
    if (!relay) {
      text.textContent = '';
      return;
    }
    const up = relay.connected !== false;
    root.dataset.state = up ? 'up' : 'down';
    text.textContent = up ? t('relay.connected', { hub: bidi(relay.hub || t('role.hub')) }) : t(downKey);
  };

  client.addEventListener('welcome', render);
  client.addEventListener('update', (ev) => { if (ev.detail.kind === 'relay') render(); });
  onLanguageChange(render);
  if (client.model.session) render();
  return { root, render };
}
