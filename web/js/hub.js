// A regional hub's page: the hub reports how many people are in its room, hands its room an
// attendee link (and QR code) so people there ask from their phones, forwards what the room
// asked to the meeting (or keeps it in the room), asks on the room's behalf (items are
// labelled with the hub's name), votes, and follows the floor and captions. On a hub's own
// relay (`hub relay`) it also shows the link to the meeting and what waits to be sent.

import { HubClient } from './client.js';
import { t, onLanguageChange } from './i18n.js';
import {
  h, $, fill, api, pageLink, bootPage, connectionBadge, languagePicker, announcer,
  displaySettings, originLabel, kindLabel, statusLabel, badge, bidi, errorText, flash, formatTime,
  copyButton, fatalText, wholeNumber,
} from './ui.js';
import {
  captionsPanel, floorPanel, askForm, myItemsPanel, queuePanel, notesPanel, shorten, backingText,
  authorName,
} from './audience.js';
import { listenPanel, speakPanel } from './voice-ui.js';
import { qrSvg, qrAvailable, labelQr } from './qr.js';

bootPage('page.hub');
const link = pageLink();
const say = announcer();

const client = new HubClient({ session: link.session, role: 'hub', joinToken: link.token });
const model = client.model;
$('#tools').append(connectionBadge(client), languagePicker());

const hubName = () => (client.you ? client.you.name : '');

function showSession() {
  const session = model.session;
  $('#session-title').textContent = session ? session.title : t('page.hub');
  const state = $('#session-state');
  state.textContent = session ? t(`session.state_${session.state}`) : '';
  state.dataset.state = session ? session.state : '';
  const name = hubName();
  $('#hub-name').textContent = name;
  $('#hub-origin').textContent = name ? t('hub.origin_note', { origin: originLabel(`hub:${name}`) }) : '';
}

// ---------------------------------------------------------------- the link to the meeting

// On a hub's relay (snapshot.relay), the room's own server holds what the hub forwards until
// the meeting has acknowledged it. The snapshot and the `relay` events (sent when the link
// comes or goes and whenever that count changes) say how it stands.
const relayCard = $('#relay-card');

function showRelay() {
  const relay = model.relay;
  relayCard.hidden = !relay;
  showAttendanceLabels();
  if (!relay) return;
  const up = relay.connected !== false;
  const time = formatTime(relay.since) || '—';
  $('#relay-link').dataset.state = up ? 'up' : 'down';
  $('#relay-link-text').textContent = relay.refused
    ? t('relay.refused', { reason: relay.refused })
    : t(up ? 'relay.hub_up' : 'relay.hub_down', { time });
  const waiting = relay.waiting || 0;
  const line = $('#relay-waiting');
  line.hidden = waiting === 0;
  line.textContent = waiting ? t('relay.waiting', { n: waiting }) : '';
}

// ---------------------------------------------------------------- attendance

const attendees = $('#attendees');
const reported = $('#attendees-reported');
let attendeesTouched = false;
attendees.addEventListener('input', () => { attendeesTouched = true; });

/** On a relay the count asked for is the people without a device: the relay adds its own. */
function showAttendanceLabels() {
  const onRelay = Boolean(model.relay);
  const label = $('#attendees-label');
  const key = onRelay ? 'hub.attendees_relay' : 'hub.attendees';
  if (label.dataset.i18n !== key) {
    label.dataset.i18n = key;
    label.textContent = t(key);
  }
  $('#attendees-relay-help').hidden = !onRelay;
  attendees.setAttribute('aria-describedby',
    onRelay ? 'attendees-relay-help attendees-reported' : 'attendees-reported');
}

/** The hub's own count, as the hub knows it (snapshot.attendees), not a local memory. */
function showReported() {
  const known = model.attendees;
  if (model.relay) {
    // The relay tells the meeting the people without a device plus the devices here.
    const without = typeof known === 'number' ? known : 0;
    const devices = (model.presence && model.presence.participants) || 0;
    reported.textContent = t('hub.reported_relay', { n: without, devices, total: without + devices });
  } else {
    reported.textContent = known === null || known === undefined
      ? t('hub.not_reported') : t('hub.reported', { n: known });
  }
  if (!attendeesTouched && typeof known === 'number' && document.activeElement !== attendees) {
    attendees.value = String(known);
  }
}

$('#attendance-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const message = $('#attendance-message');
  const value = wholeNumber(attendees, 0, 1000000);
  if (value === null || Number.isNaN(value)) {
    flash(message, t('hub.attendees_invalid'), 'error');
    attendees.focus();
    return;
  }
  client.send('hub_status', { attendees: value }, { persist: true }).then((ack) => {
    model.attendees = typeof ack.attendees === 'number' ? ack.attendees : value;
    attendeesTouched = false;
    client.saveSoon();
    showReported();
    flash(message, t('hub.attendees_saved'), 'ok');
  }, (error) => flash(message, errorText(error), 'error'));
});

// ---------------------------------------------------------------- the attendee link

const attendeeInput = $('#attendee-link');
const attendeeMessage = $('#attendee-message');
const qrHolder = $('#attendee-qr');
$('#attendee-field').append(copyButton(attendeeInput, t('hub.link_copy_label'), say));
let attendeeLink = '';
let fetchingLink = false;

async function loadAttendeeLink() {
  if (attendeeLink || fetchingLink || !client.identity.token) return;
  fetchingLink = true;
  try {
    const minted = await api('POST', `/api/sessions/${encodeURIComponent(link.session)}/tokens`,
      { token: client.identity.token, body: { role: 'participant' } });
    attendeeLink = minted.link;
    attendeeInput.value = attendeeLink;
    flash(attendeeMessage, '');
    showQr();
  } catch (error) {
    flash(attendeeMessage, errorText(error), 'error');
  } finally {
    fetchingLink = false;
  }
}

function showQr() {
  if (!attendeeLink) return;
  if (!qrHolder.firstChild && qrAvailable()) qrHolder.append(qrSvg(attendeeLink, t('hub.qr_label')));
  const svg = qrHolder.querySelector('svg');
  if (svg) labelQr(svg, t('hub.qr_label'));
}
attendeeInput.addEventListener('focus', () => attendeeInput.select());

// ---------------------------------------------------------------- the room's own queue

/** Items people in this hub's room asked (not the hub's own): they reach the hub first. */
function roomItems() {
  const me = client.you ? client.you.id : null;
  const origin = `hub:${hubName()}`;
  return [...model.items.values()].filter((item) => !model.mine.has(item.id)
    && (model.relayed.has(item.id) || (me && item.hub === me)
      || (item.status === 'local' && item.origin === origin)));
}

const roomList = $('#room-list');
const sentList = $('#sent-list');
const nodes = new Map();

function authorOf(item) {
  return `${authorName(item)} · ${formatTime(item.created)}`;
}

function localCard(item) {
  const id = item.id;
  const backingId = `backing-${id}`;
  const backing = h('input', { id: backingId, type: 'number', min: '1', max: '1000000', step: '1',
    inputmode: 'numeric', value: '1', class: 'seconds' });
  backing.value = '1';
  const message = h('p', { class: 'form-message', role: 'alert', hidden: true });
  const forward = h('button', { type: 'submit', class: 'btn btn-sm btn-primary', dataset: { action: 'forward' } });
  const keep = h('button', { type: 'button', class: 'btn btn-sm btn-danger', dataset: { action: 'decline' } });
  const panel = h('div', { class: 'panel' });
  const form = h('form', { class: 'row forward-row', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: backingId, class: 'backing-label' }), backing),
    forward);
  const node = h('li', { class: 'item mod-item', dataset: { id, status: 'local' } },
    h('div', { class: 'item-head' }, badge(kindLabel(item.kind), `kind-${item.kind}`),
      h('span', { class: 'badge badge-status-local status-badge' })),
    h('p', { class: 'item-text', dir: 'auto' }, item.text),
    h('p', { class: 'item-author' }, authorOf(item)),
    form, h('div', { class: 'actions' }, keep), message, panel);
  const label = () => {
    const text = shorten(item.text, 40);
    form.querySelector('.backing-label').textContent = t('hub.backing');
    forward.textContent = t('hub.forward');
    forward.setAttribute('aria-label', t('hub.forward_label', { text }));
    keep.textContent = t('hub.decline');
    keep.setAttribute('aria-label', t('hub.decline_label', { text }));
    node.querySelector('.status-badge').textContent = statusLabel('local');
  };
  label();
  node.relabel = label;
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const value = wholeNumber(backing, 1, 1000000);
    if (value === null || Number.isNaN(value)) {
      flash(message, t('hub.backing_invalid'), 'error');
      backing.focus();
      return;
    }
    forward.disabled = true;
    client.send('forward', { item: id, backing: value }).then(() => {
      say(t('hub.forwarded', { text: bidi(shorten(item.text, 40)) }));
      afterLeaving(node);
    }, (error) => {
      forward.disabled = false;
      flash(message, errorText(error), 'error');
    });
  });
  keep.addEventListener('click', () => openDecline(node, item, keep, panel));
  return node;
}

function openDecline(node, item, opener, panel) {
  const fieldId = `decline-${item.id}`;
  const field = h('input', { type: 'text', id: fieldId, maxlength: '2000', dir: 'auto' });
  const message = h('p', { class: 'form-message', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-sm btn-danger' }, t('hub.decline_confirm'));
  const cancel = h('button', { type: 'button', class: 'btn btn-sm' }, t('common.cancel'));
  const form = h('form', { class: 'inline-form', novalidate: true },
    h('label', { for: fieldId }, t('hub.decline_field', { author: bidi(item.author || t('item.anonymous')) })),
    field, message, h('div', { class: 'actions' }, submit, cancel));
  const close = () => {
    fill(panel);
    opener.focus();
  };
  cancel.addEventListener('click', close);
  form.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') {
      ev.preventDefault();
      close();
    }
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    const text = field.value.trim();
    client.send('decline', text ? { item: item.id, text } : { item: item.id }).then(() => {
      say(t('hub.declined', { text: bidi(shorten(item.text, 40)) }));
      afterLeaving(node);
    }, (error) => {
      submit.disabled = false;
      flash(message, errorText(error), 'error');
    });
  });
  fill(panel, form);
  field.focus();
}

/** A card left the local queue: keep the focus in the list. */
function afterLeaving(node) {
  window.setTimeout(() => {
    if (document.activeElement && document.activeElement !== document.body && node.isConnected) return;
    const next = roomList.querySelector('li button');
    (next || $('#room-title')).focus();
  }, 0);
}

function renderRoom() {
  const all = roomItems().sort((a, b) => (a.created || 0) - (b.created || 0));
  const local = all.filter((item) => item.status === 'local');
  const active = document.activeElement;
  const wanted = new Set(local.map((item) => item.id));
  for (const [id, node] of nodes) {
    if (!wanted.has(id)) {
      node.remove();
      nodes.delete(id);
    }
  }
  let previous = null;
  for (const item of local) {
    let node = nodes.get(item.id);
    if (!node) {
      node = localCard(item);
      nodes.set(item.id, node);
    }
    // Only misplaced cards move, so typed backing counts and open forms stay as they are.
    const expected = previous ? previous.nextSibling : roomList.firstChild;
    if (node !== expected) roomList.insertBefore(node, expected);
    previous = node;
  }
  if (active && active.isConnected && active !== document.activeElement) active.focus({ preventScroll: true });
  $('#room-empty').hidden = local.length > 0;
  $('#room-count').textContent = String(local.length);
  const sent = all.filter((item) => item.status !== 'local').reverse();
  fill(sentList, sent.map((item) => h('li', { class: 'item', dataset: { id: item.id, status: item.status } },
    h('div', { class: 'item-head' }, badge(kindLabel(item.kind), `kind-${item.kind}`),
      badge(statusLabel(item.status), `status-${item.status}`)),
    h('p', { class: 'item-text', dir: 'auto' }, item.text),
    h('p', { class: 'item-author' }, authorOf(item)),
    item.backing ? h('p', { class: 'item-detail' }, backingText(item)) : null,
    item.reason ? h('p', { class: 'item-detail' }, t('hub.kept_reason', { reason: bidi(item.reason) })) : null)));
  $('#sent-count').textContent = String(sent.length);
}

// ---------------------------------------------------------------- panels

const floor = floorPanel(client);
const captions = captionsPanel(client);
const ask = askForm(client, { say, id: 'hub-ask' });
const mine = myItemsPanel(client, { say, titleKey: 'hub.items_title', id: 'hub-items' });
const queue = queuePanel(client, { say });
const notes = notesPanel(client, { say });
const listen = listenPanel(client, { say });
const speak = speakPanel(client, { say }); // a hub's page speaks for its room
const settings = h('section', { class: 'card settings', 'aria-labelledby': 'settings-title' },
  h('h2', { id: 'settings-title', dataset: { i18n: 'display.title' } }), displaySettings());

$('#col-live').append(speak.root, floor.root, listen.root, captions.root);
$('#col-act').append(ask.root, notes.root, mine.root, queue.root, settings);

client.addEventListener('welcome', () => {
  showSession();
  showRelay();
  showReported();
  renderRoom();
  loadAttendeeLink();
});
client.addEventListener('presence', () => { if (model.relay) showReported(); });
client.addEventListener('update', (ev) => {
  const { kind, data, channel } = ev.detail;
  if (kind === 'session') showSession();
  if (kind === 'relay') {
    showRelay();
    showReported();
  }
  if (kind === 'item') {
    renderRoom();
    if (channel === 'private' && data.status === 'local' && model.relayed.has(data.id)) {
      say(t('hub.new_local', { kind: kindLabel(data.kind) }));
    }
  }
});
client.addEventListener('fatal', (ev) => flash($('#fatal'), fatalText(ev.detail), 'error'));
onLanguageChange(() => {
  showSession();
  showRelay();
  showReported();
  for (const node of nodes.values()) node.relabel();
  renderRoom();
  showQr();
});
showReported();

if (!link.session || !client.canJoin) {
  flash($('#fatal'), t('link.missing'), 'error');
} else {
  $('#app').hidden = false;
  if (model.session) {
    showSession();
    showRelay();
    showReported();
    renderRoom();
  }
  client.start();
}
