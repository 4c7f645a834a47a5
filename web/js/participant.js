// The participant page: join with a name (or anonymously) and an optional, consented
// profile; follow the captions and the floor; ask, vote, and watch one's own items.

import { HubClient } from './client.js';
import { t, onLanguageChange } from './i18n.js';
import {
  h, $, fill, storage, pageLink, api, bootPage, connectionBadge, languagePicker, announcer,
  displaySettings, getPref, regionName, errorText, flash, bidi, STAKEHOLDERS, GENDERS, COUNTRIES,
  fatalText, NAME_REFUSALS,
} from './ui.js';
import {
  captionsPanel, floorPanel, askForm, myItemsPanel, queuePanel, notesPanel, relayStatus,
} from './audience.js';
import { listenPanel, speakPanel } from './voice-ui.js';

bootPage('page.participant');
const link = pageLink();
const say = announcer();
const helloKey = `igf:${link.session}:participant:hello`;
let details = storage.get(helloKey);
let sessionInfo = null;

const client = new HubClient({
  session: link.session,
  role: 'participant',
  joinToken: link.token,
  keepCaptions: getPref('lite') ? 60 : 300,
  hello: () => helloFields(details),
  nameForm: true,
});

/** What the participant tells the hub on `hello`: the profile only with consent. */
function helloFields(d) {
  const fields = { in_room: Boolean(d && d.in_room) };
  // Low bandwidth: the hub then sends captions, the floor, session changes and own items.
  if (getPref('lite')) fields.lite = true;
  if (d && !d.anonymous && d.name) fields.name = d.name;
  if (d && d.consent) fields.profile = d.profile || {};
  else if (d && d.consentWithdrawn) fields.profile = {}; // erase what was given before
  return fields;
}

// ---------------------------------------------------------------- chrome

const tools = $('#tools');
tools.append(connectionBadge(client), languagePicker());
const titleNode = $('#session-title');
const subtitle = $('#session-state');

function showSession() {
  const session = client.model.session || sessionInfo;
  titleNode.textContent = session ? session.title : t('page.participant');
  subtitle.textContent = session ? t(`session.state_${session.state}`) : '';
  subtitle.dataset.state = session ? session.state : '';
}
client.addEventListener('welcome', showSession);
client.addEventListener('update', (ev) => { if (ev.detail.kind === 'session') showSession(); });
onLanguageChange(showSession);

const fatalBox = $('#fatal');
client.addEventListener('fatal', (ev) => {
  flash(fatalBox, fatalText(ev.detail), 'error');
  // Removed by the moderators, or a link that no longer works: nothing here can be sent.
  app.hidden = true;
  joinSection.hidden = true;
  fatalBox.tabIndex = -1;
  fatalBox.focus();
});

// ---------------------------------------------------------------- the app

const app = $('#app');
const allowAnonymous = () => Boolean(client.model.session && client.model.session.settings.anonymous);
const captions = captionsPanel(client);
const floor = floorPanel(client);
const ask = askForm(client, { say, allowAnonymous, defaultAnonymous: () => Boolean(details && details.anonymous) });
const mine = myItemsPanel(client, { say });
const queue = queuePanel(client, { say });
const notes = notesPanel(client, { say });
const relay = relayStatus(client); // on a hub's relay only: the link to the meeting
const listen = listenPanel(client, { say });
const speak = speakPanel(client, { say });
queue.root.classList.add('lite-hide');

const inRoom = h('input', { type: 'checkbox', id: 'in-room' });
inRoom.addEventListener('change', () => {
  details = { ...details, in_room: inRoom.checked };
  storage.set(helloKey, details);
  client.rejoin();
  say(t(inRoom.checked ? 'join.in_room_on' : 'join.in_room_off'));
});
const youAre = h('p', { class: 'hint', id: 'you-are' });
const editButton = h('button', { type: 'button', class: 'btn btn-sm', dataset: { i18n: 'join.edit' } });
editButton.addEventListener('click', () => showJoin(true));
const settings = h('section', { class: 'card settings', 'aria-labelledby': 'settings-title' },
  h('h2', { id: 'settings-title', dataset: { i18n: 'display.title' } }),
  h('div', { class: 'check' }, inRoom, h('label', { for: 'in-room', dataset: { i18n: 'join.in_room' } })),
  displaySettings({ lite: true }),
  h('div', { class: 'you-row' }, youAre, editButton));

fill($('#col-live'), relay.root, speak.root, floor.root, listen.root, captions.root);
fill($('#col-act'), ask.root, notes.root, mine.root, queue.root, settings);

function showYou() {
  inRoom.checked = Boolean(details && details.in_room);
  youAre.textContent = client.you ? t('join.you_are', { name: bidi(client.you.name) }) : '';
}
client.addEventListener('welcome', showYou);
onLanguageChange(showYou);

document.addEventListener('prefs', (ev) => {
  if (ev.detail.name !== 'lite') return;
  say(t(ev.detail.value ? 'display.lite_on' : 'display.lite_off'));
  // Join again in the new mode: a fresh snapshot, full or with one's own items only.
  if (client.started) client.rejoin();
});

// ---------------------------------------------------------------- joining

const joinSection = $('#join');
const joinForm = $('#join-form');
const nameInput = $('#join-name');
const anonBox = $('#join-anon');
const anonRow = $('#join-anon-row');
const inRoomBox = $('#join-in-room');
const consentBox = $('#join-consent');
const profileFields = $('#profile-fields');
const stakeholder = $('#join-stakeholder');
const country = $('#join-country');
const gender = $('#join-gender');
const youth = $('#join-youth');
const joinMessage = $('#join-message');
const nameError = $('#join-name-error');
const joinSubmit = $('#join-submit');
const joinCancel = $('#join-cancel');

function fillProfileOptions() {
  const keep = [stakeholder.value, country.value, gender.value];
  fill(stakeholder, h('option', { value: '', text: t('profile.not_said') }),
    STAKEHOLDERS.map((s) => h('option', { value: s, text: t(`stakeholder.${s}`) })));
  const countries = COUNTRIES.map((code) => [code, regionName(code)])
    .sort((a, b) => a[1].localeCompare(b[1]));
  fill(country, h('option', { value: '', text: t('profile.not_said') }),
    countries.map(([code, name]) => h('option', { value: code, text: name })));
  fill(gender, h('option', { value: '', text: t('profile.not_said') }),
    GENDERS.map((g) => h('option', { value: g, text: t(`gender.${g}`) })));
  [stakeholder.value, country.value, gender.value] = keep;
}

function syncJoinForm() {
  profileFields.disabled = !consentBox.checked;
  nameInput.disabled = anonBox.checked;
  nameInput.required = !anonBox.checked;
}

/** The name field's refusal (shown next to it), or none. */
function showNameError(message) {
  flash(nameError, message || '', 'error');
  if (message) nameInput.setAttribute('aria-invalid', 'true');
  else nameInput.removeAttribute('aria-invalid');
}

function showJoin(editing) {
  showNameError('');
  fillProfileOptions();
  const d = details || {};
  nameInput.value = d.name || '';
  anonBox.checked = Boolean(d.anonymous);
  inRoomBox.checked = Boolean(d.in_room);
  consentBox.checked = Boolean(d.consent);
  const p = d.profile || {};
  stakeholder.value = p.stakeholder || '';
  country.value = p.country || '';
  gender.value = p.gender || '';
  youth.checked = Boolean(p.youth);
  const session = client.model.session || sessionInfo;
  anonRow.hidden = !(session && session.settings && session.settings.anonymous);
  if (anonRow.hidden) anonBox.checked = false;
  joinSubmit.textContent = t(editing ? 'join.save' : 'join.submit');
  joinSubmit.dataset.i18n = editing ? 'join.save' : 'join.submit';
  joinCancel.hidden = !editing;
  syncJoinForm();
  app.hidden = true;
  joinSection.hidden = false;
  nameInput.focus();
}

// The hub refused the name (hidden characters, a staff role's name...): say why next to
// the field, and join with the corrected name.
client.addEventListener('name_refused', (ev) => {
  const { reason } = ev.detail;
  showJoin(Boolean(client.you));
  joinCancel.hidden = true; // the old name cannot be kept: a new one is needed
  showNameError(t(NAME_REFUSALS.has(reason) ? `join.${reason}` : 'join.name_refused'));
  nameInput.focus();
});

anonBox.addEventListener('change', syncJoinForm);
consentBox.addEventListener('change', syncJoinForm);
onLanguageChange(() => { if (!joinSection.hidden) fillProfileOptions(); });
joinCancel.addEventListener('click', () => {
  joinSection.hidden = true;
  app.hidden = false;
  editButton.focus();
});

joinForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const anonymous = anonBox.checked && !anonRow.hidden;
  const name = nameInput.value.trim().replace(/\s+/g, ' ');
  if (!anonymous && !name) {
    flash(joinMessage, t('join.name_needed'), 'error');
    nameInput.focus();
    return;
  }
  const profile = {};
  if (consentBox.checked) {
    if (stakeholder.value) profile.stakeholder = stakeholder.value;
    if (country.value) profile.country = country.value;
    if (gender.value) profile.gender = gender.value;
    if (youth.checked) profile.youth = true;
  }
  const hadConsent = Boolean(details && (details.consent || details.consentWithdrawn));
  details = {
    name: anonymous ? '' : name,
    anonymous,
    in_room: inRoomBox.checked,
    consent: consentBox.checked,
    consentWithdrawn: !consentBox.checked && hadConsent,
    profile: consentBox.checked ? profile : null,
  };
  storage.set(helloKey, details);
  flash(joinMessage, '');
  showNameError('');
  joinSection.hidden = true;
  app.hidden = false;
  if (!client.started) client.start();
  else client.rejoin();
  $('#session-title').focus();
});

async function loadSessionInfo() {
  const token = link.token || (client.identity && client.identity.token);
  try {
    sessionInfo = await api('GET', `/api/sessions/${encodeURIComponent(link.session)}`, { token });
    showSession();
    return true;
  } catch (error) {
    // A retired link (401) or a removed person (403) hears why, as over the websocket.
    const known = [401, 403, 404].includes(error.status);
    flash(fatalBox, known ? fatalText(error) : errorText(error), 'error');
    return false;
  }
}

async function main() {
  if (!link.session || !client.canJoin) {
    flash(fatalBox, t('link.missing'), 'error');
    return;
  }
  if (details && client.known) {
    app.hidden = false;
    showSession();
    client.start();
    return;
  }
  if (await loadSessionInfo()) showJoin(false);
}

main();
