// The moderator console: review pending items (approve, reject with a reason, edit, merge),
// order the approved queue (drag, buttons or Alt+Arrow keys), give the floor with an
// optional speaking time (with suggestions from the session's floor ordering), flag
// takeaways and calls to action, follow the hubs' roll call and the participation figures,
// remove a participant, add speakers from the room, and run the session.

import { HubClient } from './client.js';
import { t, onLanguageChange } from './i18n.js';
import {
  h, $, fill, storage, pageLink, bootPage, connectionBadge, languagePicker, announcer,
  displaySettings, randomKey, formatTime, languageName, originLabel, originKind, kindLabel,
  statusLabel, badge, bidi, errorText, flash, fatalText,
} from './ui.js';
import { floorPanel, shorten, backingText, authorName } from './audience.js';
import { suggestionsPanel } from './mod-floor.js';
import { flagForm, flagsPanel, recentCaptions } from './mod-flags.js';
import { rollCall, bannedPanel } from './mod-people.js';
import { statsPanel } from './mod-stats.js';
import { voicePanel } from './mod-voice.js';

bootPage('page.moderator');
const link = pageLink();
const say = announcer();
const helloKey = `igf:${link.session}:moderator:hello`;
let details = storage.get(helloKey);

const client = new HubClient({
  session: link.session,
  role: 'moderator',
  joinToken: link.token,
  hello: () => (details && details.name ? { name: details.name } : {}),
});

$('#tools').append(connectionBadge(client), languagePicker());
const fatalBox = $('#fatal');
client.addEventListener('fatal', (ev) => flash(fatalBox, fatalText(ev.detail), 'error'));

const OPEN = new Set(['pending', 'approved', 'live']);
const ENDED = new Set(['rejected', 'merged', 'withdrawn', 'done']);
const model = client.model;
const items = () => [...model.items.values()];
const itemText = (item) => t('mod.item_option', { kind: kindLabel(item.kind), text: shorten(item.text, 50) });

function authorLine(item) {
  const parts = [authorName(item)];
  if (item.affiliation) parts.push(item.affiliation);
  parts.push(formatTime(item.created));
  return parts.join(' · ');
}

// ---------------------------------------------------------------- session head

function showSession() {
  const session = model.session;
  $('#session-title').textContent = session ? session.title : t('page.moderator');
  const state = $('#session-state');
  state.textContent = session ? t(`session.state_${session.state}`) : '';
  state.dataset.state = session ? session.state : '';
  for (const button of document.querySelectorAll('#state-choices button')) {
    button.setAttribute('aria-pressed', String(Boolean(session) && button.value === session.state));
  }
  listClosed.checked = Boolean(session && session.settings && session.settings.list_closed);
}

const listClosed = $('#list-closed');
listClosed.addEventListener('change', () => {
  const closed = listClosed.checked;
  client.send('session', { settings: { list_closed: closed } }).then(
    () => say(t(closed ? 'session.list_closed_on' : 'session.list_closed_off')),
    (error) => {
      listClosed.checked = !closed;
      flash(stateMessage, errorText(error), 'error');
    });
});

const stateChoices = $('#state-choices');
const stateMessage = $('#state-message');
for (const state of ['scheduled', 'live', 'closed']) {
  const button = h('button', { type: 'button', class: 'btn', value: state, 'aria-pressed': 'false',
    dataset: { i18n: `session.set_${state}` } });
  button.addEventListener('click', () => {
    client.send('session', { state }).then(
      () => flash(stateMessage, ''),
      (error) => flash(stateMessage, errorText(error), 'error'));
  });
  stateChoices.append(button);
}

// ---------------------------------------------------------------- one item card

/** A moderation card whose buttons and open forms survive re-renders (keyed by id). */
function itemCard(item, mode) {
  const node = h('li', { class: 'item mod-item', dataset: { id: item.id, mode } });
  const head = h('div', { class: 'item-head' });
  const text = h('p', { class: 'item-text', dir: 'auto' });
  const meta = h('p', { class: 'item-author' });
  const actions = h('div', { class: 'actions' });
  const panel = h('div', { class: 'panel' });
  node.append(head, text, meta, actions, panel);
  const buttons = {};
  const add = (name, cls, onClick) => {
    const button = h('button', { type: 'button', class: `btn btn-sm ${cls}`, dataset: { action: name } });
    button.addEventListener('click', () => {
      if (button.getAttribute('aria-disabled') === 'true') return;
      onClick(node.dataset.id, button);
    });
    buttons[name] = button;
    actions.append(button);
  };
  if (mode === 'pending') {
    add('approve', 'btn-primary', (id) => act(id, 'approve'));
    add('reject', 'btn-danger', (id, b) => openPanel(node, 'reject', b));
    add('edit', '', (id, b) => openPanel(node, 'edit', b));
    add('merge', '', (id, b) => openPanel(node, 'merge', b));
  } else {
    node.draggable = true;
    node.tabIndex = -1;
    head.prepend(h('span', { class: 'queue-pos', 'aria-hidden': 'true' }));
    add('up', 'btn-icon', (id) => moveBy(id, -1));
    add('down', 'btn-icon', (id) => moveBy(id, 1));
    add('live', 'btn-primary', (id) => putLive(id));
    add('merge', '', (id, b) => openPanel(node, 'merge', b));
  }
  add('note', 'btn-ghost', (id, b) => openPanel(node, 'note', b));
  add('flag', 'btn-ghost', (id, b) => openPanel(node, 'flag', b));
  add('ban', 'btn-ghost btn-danger-text', (id, b) => openPanel(node, 'ban', b));
  cards.set(node, { head, text, meta, actions, panel, buttons, mode });
  updateCard(node, item, 0, 1);
  return node;
}

const cards = new WeakMap();

function updateCard(node, item, index, total) {
  const c = cards.get(node);
  fill(c.head, c.mode === 'queue' ? c.head.querySelector('.queue-pos') : null,
    badge(kindLabel(item.kind), `kind-${item.kind}`),
    badge(originLabel(item.origin), `origin-${originKind(item.origin)}`),
    badge(languageName(item.lang), 'muted'),
    item.anonymous ? badge(t('mod.anonymous'), 'muted') : null,
    item.edited ? badge(t('mod.edited'), 'muted') : null,
    item.backing ? badge(backingText(item), 'backing') : null);
  const pos = c.head.querySelector('.queue-pos');
  if (pos) pos.textContent = String(index + 1);
  c.text.textContent = item.text;
  const votes = item.kind === 'question' || item.kind === 'comment'
    ? ` · ${t('item.votes', { n: item.votes || 0 })}` : '';
  c.meta.textContent = `${authorLine(item)}${votes}`;
  const label = shorten(item.text, 40);
  const isHub = Boolean(item.author_id
    && (item.hub === item.author_id || model.hubs.has(item.author_id)));
  const names = {
    approve: 'mod.approve', reject: 'mod.reject', edit: 'mod.edit', merge: 'mod.merge',
    note: 'mod.note', up: 'mod.up', down: 'mod.down', live: 'mod.live', flag: 'mod.flag',
    ban: isHub ? 'mod.ban_hub' : 'mod.ban',
  };
  for (const [name, button] of Object.entries(c.buttons)) {
    button.textContent = name === 'up' ? '↑' : name === 'down' ? '↓' : t(names[name]);
    button.setAttribute('aria-label', t(`${names[name]}_label`, { text: label }));
    if (name === 'up' || name === 'down') button.title = t(names[name]);
  }
  if (c.buttons.up) c.buttons.up.setAttribute('aria-disabled', String(index === 0));
  if (c.buttons.down) c.buttons.down.setAttribute('aria-disabled', String(index === total - 1));
  // Notes reach participants and hubs; a room speaker added by a moderator (the only items
  // with an affiliation) has no private channel.
  c.buttons.note.hidden = !item.author_id || Boolean(item.affiliation) || item.on_behalf === true
    || Boolean(client.you && item.author_id === client.you.id);
  // Only a participant or a hub can be removed: not a speaker a moderator added, nor staff.
  c.buttons.ban.hidden = c.buttons.note.hidden || model.banned.has(item.author_id);
  node.setAttribute('aria-label', t('mod.card_label', { kind: kindLabel(item.kind),
    author: item.author || t('item.anonymous') }));
}

/** Keep `list` in the order of `wanted`, reusing cards so focus and open forms stay put. */
function syncList(list, wanted, mode) {
  const active = document.activeElement;
  const existing = new Map([...list.children].map((n) => [n.dataset.id, n]));
  const ids = new Set(wanted.map((i) => i.id));
  for (const [id, node] of existing) if (!ids.has(id)) node.remove();
  let previous = null;
  wanted.forEach((item, index) => {
    let node = existing.get(item.id);
    if (node) updateCard(node, item, index, wanted.length);
    else node = itemCard(item, mode);
    if (!existing.has(item.id)) updateCard(node, item, index, wanted.length);
    const expected = previous ? previous.nextSibling : list.firstChild;
    if (node !== expected) list.insertBefore(node, expected);
    previous = node;
  });
  if (active && active !== document.activeElement && active.isConnected) active.focus({ preventScroll: true });
}

// ---------------------------------------------------------------- inline forms

function closePanel(node, returnTo) {
  const c = cards.get(node);
  fill(c.panel);
  if (returnTo) returnTo.focus();
}

function openPanel(node, kind, opener) {
  const c = cards.get(node);
  const id = node.dataset.id;
  const item = model.items.get(id);
  if (!item) return;
  if (kind === 'flag') {
    const close = () => closePanel(node, opener);
    fill(c.panel, flagForm(client, { say, text: item.text, ref: { item: id }, onDone: close, onCancel: close }));
    return;
  }
  const fieldId = `${kind}-${id}`;
  const message = h('p', { class: 'form-message', role: 'alert', hidden: true });
  const cancel = h('button', { type: 'button', class: 'btn btn-sm' }, t('common.cancel'));
  cancel.addEventListener('click', () => closePanel(node, opener));
  let field;
  let submitLabel;
  let run;
  if (kind === 'reject') {
    field = h('input', { type: 'text', id: fieldId, maxlength: '2000' });
    submitLabel = t('mod.reject_confirm');
    run = () => act(id, 'reject', field.value.trim() ? { text: field.value.trim() } : {});
  } else if (kind === 'edit') {
    field = h('textarea', { id: fieldId, rows: '3', maxlength: '2000', value: item.text });
    field.value = item.text;
    submitLabel = t('mod.save');
    run = () => act(id, 'edit', { text: field.value });
  } else if (kind === 'merge') {
    field = h('select', { id: fieldId });
    const targets = items().filter((o) => o.id !== id && OPEN.has(o.status));
    fill(field, targets.map((o) => h('option', { value: o.id }, itemText(o))));
    submitLabel = t('mod.merge_confirm');
    run = () => act(id, 'merge', { into: field.value });
    if (!targets.length) {
      fill(c.panel, h('div', { class: 'inline-form' },
        h('p', { class: 'hint' }, t('mod.merge_none')), h('div', { class: 'actions' }, cancel)));
      cancel.focus();
      return;
    }
  } else if (kind === 'ban') {
    field = h('input', { type: 'text', id: fieldId, maxlength: '320', dir: 'auto' });
    submitLabel = t('mod.ban_confirm');
    const identity = item.author_id;
    run = () => {
      const reason = field.value.trim();
      return client.send('ban', reason ? { identity, reason } : { identity }).then((ack) => {
        say(t('mod.banned', { name: bidi(item.author || t('item.anonymous')) }));
        return ack;
      });
    };
  } else {
    field = h('textarea', { id: fieldId, rows: '2', maxlength: '2000' });
    submitLabel = t('mod.note_send');
    run = () => client.send('note', { to: item.author_id, text: field.value.trim() });
  }
  const danger = kind === 'reject' || kind === 'ban';
  const submit = h('button', { type: 'submit',
    class: danger ? 'btn btn-sm btn-danger' : 'btn btn-sm btn-primary' }, submitLabel);
  const author = bidi(item.author || t('item.anonymous'));
  const form = h('form', { class: 'inline-form', novalidate: true },
    kind === 'ban' ? h('p', { class: 'notice' }, t('mod.ban_explain', { author })) : null,
    h('label', { for: fieldId }, t(`mod.${kind}_field`, { author: item.author || t('item.anonymous') })),
    field, message, h('div', { class: 'actions' }, submit, cancel));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if ((kind === 'edit' || kind === 'note') && !field.value.trim()) {
      flash(message, t('mod.text_needed'), 'error');
      field.focus();
      return;
    }
    submit.disabled = true;
    Promise.resolve(run()).then(() => {
      closePanel(node, null);
      if (kind === 'note') say(t('mod.note_sent'));
      focusAfter(node);
    }, (error) => {
      submit.disabled = false;
      flash(message, errorText(error), 'error');
    });
  });
  form.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') {
      ev.preventDefault();
      closePanel(node, opener);
    }
  });
  fill(c.panel, form);
  field.focus();
}

/** After a card leaves its list, put the focus somewhere sensible nearby. */
function focusAfter(node) {
  if (node.isConnected && node.contains(document.activeElement)) return;
  window.setTimeout(() => {
    if (document.activeElement && document.activeElement !== document.body) return;
    const list = node.parentElement || $('#pending-list');
    const next = list && list.querySelector('li button:not([hidden])');
    (next || $('#pending-title')).focus();
  }, 0);
}

// ---------------------------------------------------------------- commands

function act(id, action, extra = {}) {
  return client.send('moderate', { item: id, action, ...extra }).then((ack) => {
    const item = model.items.get(id);
    say(t(`mod.done_${action}`, { text: item ? shorten(item.text, 40) : '' }));
    return ack;
  }, (error) => {
    say(errorText(error));
    throw error;
  });
}

function moveBy(id, delta) {
  const order = model.order;
  const index = order.indexOf(id);
  const target = index + delta;
  if (index < 0 || target < 0 || target >= order.length) return;
  // `before` is the id the item lands in front of; null puts it at the end.
  const rest = order.filter((x) => x !== id);
  const before = target >= rest.length ? null : rest[target];
  client.send('moderate', { item: id, action: 'move', before }).then(() => {
    say(t('mod.moved', { pos: target + 1, total: order.length }));
  }, (error) => say(errorText(error)));
}

const secondsInput = $('#live-seconds');
function putLive(id) {
  const raw = secondsInput.value.trim();
  const extra = {};
  if (raw) {
    const seconds = Number.parseInt(raw, 10);
    if (!Number.isFinite(seconds) || seconds < 0) {
      flash($('#queue-message'), t('mod.seconds_invalid'), 'error');
      secondsInput.focus();
      return;
    }
    extra.seconds = seconds;
  }
  flash($('#queue-message'), '');
  act(id, 'live', extra).then(() => $('#floor-done').focus(), () => {});
}

// ---------------------------------------------------------------- lists

const pendingList = $('#pending-list');
const queueList = $('#queue-list');
const historyList = $('#history-list');
const localList = $('#local-list');

/** A read-only row: items waiting at a hub are the hub's to forward or keep. */
function plainRow(item) {
  return h('li', { class: 'item', dataset: { status: item.status, id: item.id } },
    h('div', { class: 'item-head' }, badge(kindLabel(item.kind), `kind-${item.kind}`),
      badge(statusLabel(item.status), `status-${item.status}`),
      badge(originLabel(item.origin), `origin-${originKind(item.origin)}`),
      item.backing ? badge(backingText(item), 'backing') : null),
    h('p', { class: 'item-text', dir: 'auto' }, item.text),
    h('p', { class: 'item-author' }, authorLine(item)),
    item.reason ? h('p', { class: 'item-detail' }, t('mine.rejected_reason', { reason: bidi(item.reason) })) : null);
}

function render() {
  const all = items();
  const pending = all.filter((i) => i.status === 'pending').sort((a, b) => a.created - b.created);
  syncList(pendingList, pending, 'pending');
  $('#pending-empty').hidden = pending.length > 0;
  $('#pending-count').textContent = String(pending.length);
  const queue = model.order.map((id) => model.items.get(id)).filter(Boolean);
  syncList(queueList, queue, 'queue');
  $('#queue-empty').hidden = queue.length > 0;
  $('#queue-count').textContent = String(queue.length);
  const ended = all.filter((i) => ENDED.has(i.status)).sort((a, b) => b.created - a.created).slice(0, 100);
  fill(historyList, ended.map(plainRow));
  $('#history-count').textContent = String(ended.length);
  // Items held at a hub until it forwards them: not the meeting's to review yet.
  const local = all.filter((i) => i.status === 'local').sort((a, b) => a.created - b.created);
  fill(localList, local.map(plainRow));
  $('#local-empty').hidden = local.length > 0;
  $('#local-count').textContent = String(local.length);
  $('#floor-done').hidden = !model.floor.item;
}

// Keyboard reordering: Alt+ArrowUp / Alt+ArrowDown on a queued card or its buttons.
queueList.addEventListener('keydown', (ev) => {
  if (!ev.altKey || (ev.key !== 'ArrowUp' && ev.key !== 'ArrowDown')) return;
  const node = ev.target.closest('li[data-id]');
  if (!node) return;
  ev.preventDefault();
  moveBy(node.dataset.id, ev.key === 'ArrowUp' ? -1 : 1);
});

// Drag and drop reordering.
let dragged = null;
queueList.addEventListener('dragstart', (ev) => {
  const node = ev.target.closest('li[data-id]');
  if (!node) return;
  dragged = node.dataset.id;
  node.classList.add('dragging');
  ev.dataTransfer.effectAllowed = 'move';
  ev.dataTransfer.setData('text/plain', dragged);
});
const clearDrop = () => {
  for (const n of queueList.querySelectorAll('.drop-before, .drop-end, .dragging')) {
    n.classList.remove('drop-before', 'drop-end', 'dragging');
  }
};
function dropTarget(ev) {
  const node = ev.target.closest('li[data-id]');
  if (!node) return { node: null, before: null };
  const box = node.getBoundingClientRect();
  if (ev.clientY < box.top + box.height / 2) return { node, before: node.dataset.id };
  const next = node.nextElementSibling;
  return { node, before: next ? next.dataset.id : null, after: true };
}
queueList.addEventListener('dragover', (ev) => {
  if (!dragged) return;
  ev.preventDefault();
  ev.dataTransfer.dropEffect = 'move';
  clearDrop();
  const { node, after } = dropTarget(ev);
  if (node) node.classList.add(after ? 'drop-end' : 'drop-before');
});
queueList.addEventListener('dragleave', (ev) => {
  if (!queueList.contains(ev.relatedTarget)) clearDrop();
});
queueList.addEventListener('drop', (ev) => {
  ev.preventDefault();
  const id = dragged || ev.dataTransfer.getData('text/plain');
  const { node, before } = dropTarget(ev);
  clearDrop();
  dragged = null;
  if (!id || !node || before === id) return;
  const order = model.order.filter((x) => x !== id);
  const pos = before === null ? order.length : order.indexOf(before);
  client.send('moderate', { item: id, action: 'move', before }).then(
    () => say(t('mod.moved', { pos: pos + 1, total: model.order.length })),
    (error) => say(errorText(error)));
});
queueList.addEventListener('dragend', () => {
  clearDrop();
  dragged = null;
});

// ---------------------------------------------------------------- floor

const floor = floorPanel(client, { id: 'mod-floor' });
const doneButton = h('button', { type: 'button', id: 'floor-done', class: 'btn btn-primary', hidden: true,
  dataset: { i18n: 'mod.done' } });
doneButton.addEventListener('click', () => {
  const live = model.floor.item;
  if (live) act(live, 'done').then(() => $('#queue-title').focus(), () => {});
});
floor.root.append(h('div', { class: 'actions' }, doneButton));
$('#floor-slot').replaceWith(floor.root);
const voice = voicePanel(client, { say });
$('#voice-slot').replaceWith(voice.root);

// ---------------------------------------------------------------- a speaker from the room

const roomForm = $('#room-form');
roomForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const name = $('#room-name').value.trim();
  const message = $('#room-message');
  if (!name) {
    flash(message, t('room.name_needed'), 'error');
    $('#room-name').focus();
    return;
  }
  const kind = $('#room-kind').value;
  const text = $('#room-text').value.trim() || t('room.default_text');
  const frame = { kind, text, key: randomKey(), on_behalf: { name, affiliation: $('#room-affiliation').value.trim() } };
  client.send('ask', frame, { persist: true }).then(() => {
    roomForm.reset();
    flash(message, t('room.added', { name: bidi(name) }), 'ok');
    $('#room-name').focus();
  }, (error) => flash(message, errorText(error), 'error'));
});
function fillRoomKinds() {
  const select = $('#room-kind');
  const keep = select.value || 'floor';
  fill(select, ['floor', 'question', 'comment', 'point_of_order'].map(
    (k) => h('option', { value: k }, kindLabel(k))));
  select.value = keep;
}

// ---------------------------------------------------------------- presence and hubs

function renderPresence() {
  const p = model.presence || {};
  const entries = [['participants', p.participants], ['hubs', p.hubs], ['attendees', p.attendees],
    ['moderators', p.moderators], ['captioners', p.captioners], ['screens', p.screens]];
  fill($('#presence'), entries.map(([key, value]) => h('div', {},
    h('dt', {}, t(`presence.${key}`)), h('dd', {}, String(value || 0)))));
}
const roll = rollCall(client, $('#hubs-list'), $('#hubs-empty'));

// ---------------------------------------------------------------- wiring

let seenPending = null;
function announceNew(ev) {
  const { kind, data, channel } = ev.detail;
  const arrived = data.action === 'ask' || data.action === 'forward';
  if (kind === 'item' && channel === 'moderation' && arrived && data.status === 'pending') {
    say(t('mod.new_pending', { kind: kindLabel(data.kind), origin: originLabel(data.origin) }));
  }
}

client.addEventListener('welcome', () => {
  showSession();
  render();
  renderPresence();
  seenPending = true;
});
client.addEventListener('update', (ev) => {
  const kind = ev.detail.kind;
  if (kind === 'session') showSession();
  // A ban hides "Remove" on its author's cards; the roll call says which authors are hubs.
  if (['item', 'order', 'floor', 'ban', 'hub_status'].includes(kind)) render();
  if (seenPending) announceNew(ev);
});
client.addEventListener('presence', renderPresence);
onLanguageChange(() => {
  showSession();
  fillRoomKinds();
  if (model.session) {
    render();
    renderPresence();
  }
});
$('#display-settings').append(...displaySettings());
fillRoomKinds();

// ---------------------------------------------------------------- suggestions, flags, figures

const suggestions = suggestionsPanel(client, { say, giveFloor: (id) => putLive(id) });
$('#suggest-slot').replaceWith(suggestions.root);
const captionLines = recentCaptions(client, { say });
$('#captions-slot').replaceWith(captionLines.root);
const flags = flagsPanel(client, { say });
$('#flags-slot').replaceWith(flags.root);
const figures = statsPanel(client);
$('#stats-slot').replaceWith(figures.root);
const removed = bannedPanel(client, { say });
$('#banned-slot').replaceWith(removed.root);

// ---------------------------------------------------------------- joining

const joinSection = $('#join');
const app = $('#app');
$('#join-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const name = $('#join-name').value.trim().replace(/\s+/g, ' ');
  if (!name) {
    flash($('#join-message'), t('join.name_needed'), 'error');
    $('#join-name').focus();
    return;
  }
  details = { name };
  storage.set(helloKey, details);
  joinSection.hidden = true;
  app.hidden = false;
  if (!client.started) client.start();
  else client.rejoin();
  $('#session-title').focus();
});
$('#rename').addEventListener('click', () => {
  $('#join-name').value = (details && details.name) || '';
  joinSection.hidden = false;
  $('#join-name').focus();
});

if (!link.session || !client.canJoin) {
  flash(fatalBox, t('link.missing'), 'error');
} else if (details && details.name) {
  app.hidden = false;
  if (model.session) {
    showSession();
    render();
    roll.render();
    captionLines.render();
    flags.render();
    removed.render();
  }
  client.start();
} else {
  joinSection.hidden = false;
  $('#join-name').focus();
}
