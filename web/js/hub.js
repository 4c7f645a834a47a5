// A regional hub's page: the hub reports how many people are in its room, asks on their
// behalf (items are labelled with the hub's name), votes, and follows the floor and captions.

import { HubClient } from './client.js';
import { t, onLanguageChange } from './i18n.js';
import {
  h, $, storage, pageLink, bootPage, connectionBadge, languagePicker, announcer,
  displaySettings, originLabel, errorText, flash,
} from './ui.js';
import {
  captionsPanel, floorPanel, askForm, myItemsPanel, queuePanel, notesPanel,
} from './audience.js';

bootPage('page.hub');
const link = pageLink();
const say = announcer();
const attendeesKey = `igf:${link.session}:hub:attendees`;

const client = new HubClient({ session: link.session, role: 'hub', joinToken: link.token });
const model = client.model;
$('#tools').append(connectionBadge(client), languagePicker());

function showSession() {
  const session = model.session;
  $('#session-title').textContent = session ? session.title : t('page.hub');
  const state = $('#session-state');
  state.textContent = session ? t(`session.state_${session.state}`) : '';
  state.dataset.state = session ? session.state : '';
  const name = client.you ? client.you.name : '';
  $('#hub-name').textContent = name;
  $('#hub-origin').textContent = name ? t('hub.origin_note', { origin: originLabel(`hub:${name}`) }) : '';
}

// ---------------------------------------------------------------- attendance

const attendees = $('#attendees');
const reported = $('#attendees-reported');
let lastReported = storage.get(attendeesKey);

function showReported() {
  reported.textContent = lastReported === null || lastReported === undefined
    ? t('hub.not_reported') : t('hub.reported', { n: lastReported });
}

$('#attendance-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const message = $('#attendance-message');
  const value = Number.parseInt(attendees.value, 10);
  if (!Number.isInteger(value) || value < 0 || String(value) !== attendees.value.trim()) {
    flash(message, t('hub.attendees_invalid'), 'error');
    attendees.focus();
    return;
  }
  client.send('hub_status', { attendees: value }, { persist: true }).then(() => {
    lastReported = value;
    storage.set(attendeesKey, value);
    showReported();
    flash(message, t('hub.attendees_saved'), 'ok');
  }, (error) => flash(message, errorText(error), 'error'));
});
if (lastReported !== null && lastReported !== undefined) attendees.value = String(lastReported);

// ---------------------------------------------------------------- panels

const floor = floorPanel(client);
const captions = captionsPanel(client);
const ask = askForm(client, { say, id: 'hub-ask' });
const mine = myItemsPanel(client, { say, titleKey: 'hub.items_title', id: 'hub-items' });
const queue = queuePanel(client, { say });
const notes = notesPanel(client, { say });
const settings = h('section', { class: 'card settings', 'aria-labelledby': 'settings-title' },
  h('h2', { id: 'settings-title', dataset: { i18n: 'display.title' } }), displaySettings());

$('#col-live').append(floor.root, captions.root);
$('#col-act').append(ask.root, notes.root, mine.root, queue.root, settings);

client.addEventListener('welcome', showSession);
client.addEventListener('update', (ev) => { if (ev.detail.kind === 'session') showSession(); });
client.addEventListener('fatal', (ev) => {
  flash($('#fatal'), ev.detail.code === 'not_found' ? t('link.not_found') : t('link.refused'), 'error');
});
onLanguageChange(() => {
  showSession();
  showReported();
});
showReported();

if (!link.session || !client.canJoin) {
  flash($('#fatal'), t('link.missing'), 'error');
} else {
  $('#app').hidden = false;
  if (model.session) showSession();
  client.start();
}
