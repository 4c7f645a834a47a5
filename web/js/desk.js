// The audio desk, for the venue's sound technician: pick the input that carries the room's
// sound (the mixer's output) and publish it to remote listeners; pick the output that feeds
// the room's loudspeakers and play the remote speaker there; levels, who is live, and a
// button that silences the loudspeaker feed. One desk per session: a second desk takes
// over only after confirming (docs/protocol.md §19.2, `take_over`).
//
// The "cut" button (after a confirmation) sends the `voice` command with `cut`: the desk
// may send that one action, and only while it holds the desk (hub/domain/voice.py
// `control`); the speaker's audio ends for everyone and the moderators see "cut by the
// audio desk". The page also silences its loudspeaker feed at once, without waiting for
// Janus. Muting and restoring stay the moderators': the room's sound is the technician's,
// the floor is the moderators'. The "silence" button mutes the loudspeaker feed only.

import { HubClient } from './client.js';
import { t, onLanguageChange } from './i18n.js';
import {
  $, h, fill, pageLink, bootPage, connectionBadge, languagePicker, flash, fatalText, originLabel,
  formatDuration, announcer, errorText,
} from './ui.js';
import { VoiceLink, VoiceState, voiceStatus, canPickOutput, meterValue } from './voice.js';
import { voiceStateText, voiceUnavailableText } from './voice-ui.js';

bootPage('page.desk');
const link = pageLink();
const say = announcer();
const client = new HubClient({ session: link.session, role: 'desk', joinToken: link.token, keepCaptions: 20 });
const model = client.model;
$('#tools').append(connectionBadge(client), languagePicker());

const fatalBox = $('#fatal');
client.addEventListener('fatal', (ev) => {
  flash(fatalBox, fatalText(ev.detail), 'error');
  $('#app').hidden = true;
});

const audio = $('#desk-audio');
const desk = new VoiceLink(client, 'desk', { audio });
const input = $('#desk-input');
const output = $('#desk-output');
const startButton = $('#desk-start');
const stopButton = $('#desk-stop');
const status = $('#desk-status');
const takeover = $('#desk-takeover');
const silence = $('#desk-silence');
const cutButton = $('#desk-cut');
const cutConfirm = $('#desk-cut-confirm');
const cutMessage = $('#desk-cut-message');
const STORE = `igf:${link.session}:desk:devices`;

function showSession() {
  const session = model.session;
  $('#session-title').textContent = session ? session.title : t('page.desk');
  $('#session-state').textContent = session ? t(`session.state_${session.state}`) : '';
}

// ---------------------------------------------------------------- devices

function savedDevices() {
  try {
    return JSON.parse(window.localStorage.getItem(STORE)) || {};
  } catch {
    return {};
  }
}

function saveDevices() {
  try {
    window.localStorage.setItem(STORE, JSON.stringify({ input: input.value, output: output.value }));
  } catch { /* not kept: chosen again next time */ }
}

/** Fill the pickers from enumerateDevices (names appear once the browser allowed capture). */
async function listDevices() {
  let devices = [];
  try {
    devices = await navigator.mediaDevices.enumerateDevices();
  } catch {
    devices = [];
  }
  const saved = savedDevices();
  const keep = { input: input.value || saved.input || '', output: output.value || saved.output || '' };
  const option = (d, i, key) => h('option', { value: d.deviceId },
    d.label || t(key, { n: i + 1 }));
  const inputs = devices.filter((d) => d.kind === 'audioinput' && d.deviceId);
  const outputs = devices.filter((d) => d.kind === 'audiooutput' && d.deviceId);
  fill(input, h('option', { value: '' }, t('desk.default_input')),
    inputs.filter((d) => d.deviceId !== 'default').map((d, i) => option(d, i, 'desk.input_n')));
  fill(output, h('option', { value: '' }, t('desk.default_output')),
    outputs.filter((d) => d.deviceId !== 'default').map((d, i) => option(d, i, 'desk.output_n')));
  output.disabled = !canPickOutput();
  for (const [select, value] of [[input, keep.input], [output, keep.output]]) {
    if ([...select.options].some((o) => o.value === value)) select.value = value;
  }
}

input.addEventListener('change', () => {
  saveDevices();
  // A new input: publish it (join again with the new device).
  if (desk.running) desk.start({ inputId: input.value });
});
output.addEventListener('change', () => {
  saveDevices();
  desk.setOutput(output.value).catch(() => flash(status, t('desk.output_failed'), 'error'));
});
$('#desk-devices').addEventListener('click', listDevices);
if (navigator.mediaDevices && navigator.mediaDevices.addEventListener) {
  navigator.mediaDevices.addEventListener('devicechange', listDevices);
}

// ---------------------------------------------------------------- the desk link

function renderDesk() {
  const voice = voiceStatus(client, renderDesk);
  const note = voiceUnavailableText(client, renderDesk);
  const banner = $('#desk-voice');
  banner.hidden = !note;
  banner.textContent = note;
  startButton.hidden = desk.running;
  startButton.disabled = voice.voice !== 'on';
  stopButton.hidden = !desk.running;
  status.textContent = desk.state === VoiceState.OFF ? t('desk.not_started') : voiceStateText(desk);
  $('#desk-setup').dataset.state = desk.state;
  const needsConfirm = desk.state === VoiceState.REFUSED && desk.reason === 'desk_active';
  takeover.hidden = !needsConfirm;
  if (needsConfirm) $('#desk-takeover-text').textContent = t('desk.other_active');
}

async function start(takeOver = false) {
  takeover.hidden = true;
  holding = false;
  try {
    // Ask for the input first: the device names appear, and the chosen one is published.
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: input.value ? { deviceId: { exact: input.value } } : true });
    stream.getTracks().forEach((track) => track.stop());
  } catch {
    /* the link reports the refusal itself (mic_denied) */
  }
  await listDevices();
  desk.start({ takeOver, inputId: input.value, outputId: output.value });
}

startButton.addEventListener('click', () => start(false));
stopButton.addEventListener('click', () => {
  desk.stop();
  startButton.focus();
});
$('#desk-takeover-yes').addEventListener('click', () => start(true));
$('#desk-takeover-no').addEventListener('click', () => {
  takeover.hidden = true;
  desk.stop();
  startButton.focus();
});

let levelTimer = 0;
desk.addEventListener('state', (ev) => {
  renderDesk();
  renderCut();
  window.clearInterval(levelTimer);
  if (desk.running) {
    levelTimer = window.setInterval(() => {
      $('#desk-in-level').value = meterValue(desk.level('local'));
      $('#desk-out-level').value = meterValue(desk.level('remote'));
    }, 100);
  } else {
    $('#desk-in-level').value = 0;
    $('#desk-out-level').value = 0;
  }
  if ([VoiceState.LIVE, VoiceState.REFUSED, VoiceState.FAILED].includes(ev.detail.state)) {
    say(status.textContent);
  }
  if (needsFocus(ev.detail)) $('#desk-takeover-yes').focus();
});
const needsFocus = ({ state, reason }) => state === VoiceState.REFUSED && reason === 'desk_active';

// ---------------------------------------------------------------- who is live

let liveTimer = 0;
let holding = false; // this page was granted the desk (since its latest start)
desk.addEventListener('grant', () => { holding = true; });
function renderLive() {
  const voice = model.voice;
  const who = $('#desk-live-who');
  const meta = $('#desk-live-meta');
  const time = $('#desk-live-time');
  window.clearInterval(liveTimer);
  if (!voice || !voice.item) {
    who.textContent = t('desk.nobody_live');
    meta.textContent = '';
    time.textContent = '';
  } else {
    who.textContent = voice.speaker || t('item.anonymous');
    const parts = [originLabel(voice.origin)];
    if (voice.muted) parts.push(t('voice.muted'));
    if (voice.cut) parts.push(t('voice.cut'));
    if (!voice.since) parts.push(t('voice.not_yet_on_air'));
    meta.textContent = parts.join(' · ');
    const tick = () => {
      time.textContent = voice.since
        ? t('floor.speaking_for', { time: formatDuration(Math.max(0, (client.serverNow() - voice.since) / 1000)) })
        : '';
    };
    tick();
    if (voice.since) liveTimer = window.setInterval(tick, 1000);
  }
  // A takeover elsewhere: this page no longer holds the desk. Only after this page's own
  // grant: the facts read before it still name the previous holder.
  if (voice && client.you && holding && desk.running && voice.desk_id
      && voice.desk_id !== client.you.id) {
    holding = false;
    desk.stop();
    flash(status, t('desk.taken_over'), 'error');
    say(t('desk.taken_over'));
  }
  renderCut();
}

function setSilenced(on) {
  silence.setAttribute('aria-pressed', String(on));
  silence.textContent = t(on ? 'desk.unsilence' : 'desk.silence');
  silence.dataset.i18n = on ? 'desk.unsilence' : 'desk.silence';
  desk.setPlaybackMuted(on);
}

silence.addEventListener('click', () => {
  const on = silence.getAttribute('aria-pressed') !== 'true';
  setSilenced(on);
  say(t(on ? 'desk.silenced' : 'desk.unsilenced'));
});

/** The cut button: usable while someone is live, not cut yet, and this page holds the desk. */
function renderCut() {
  const voice = model.voice;
  const mine = Boolean(voice && client.you && voice.desk_id === client.you.id && desk.running);
  cutButton.disabled = !(mine && voice.item && !voice.cut);
  if (cutButton.disabled && !cutConfirm.hidden) cutConfirm.hidden = true;
}

cutButton.addEventListener('click', () => {
  flash(cutMessage, '');
  cutConfirm.hidden = false;
  $('#desk-cut-no').focus();
});
$('#desk-cut-no').addEventListener('click', () => {
  cutConfirm.hidden = true;
  cutButton.focus();
});
$('#desk-cut-yes').addEventListener('click', async () => {
  cutConfirm.hidden = true;
  setSilenced(true); // the room stops hearing them now, before Janus has kicked them
  cutButton.disabled = true;
  try {
    await client.send('voice', { action: 'cut' }, { retryUnavailable: false });
    say(t('desk.cut_done'));
  } catch (error) {
    const reason = error && error.reason === 'not_desk' ? t('voice.why_not_desk') : errorText(error);
    flash(cutMessage, reason, 'error');
  } finally {
    renderCut();
    cutButton.focus();
  }
});

// ---------------------------------------------------------------- speaking now

// The hub's `talking` frames (docs/protocol.md §19.6): a meter, and a polite live line
// that changes only when the speaker starts or stops talking.
let saidTalking = null;
function renderTalking() {
  const voice = model.voice;
  const onAir = Boolean(voice && voice.item && voice.since && !voice.cut);
  const talk = client.talking;
  const mine = onAir && talk && talk.item === voice.item ? talk : null;
  const line = $('#desk-talking');
  line.hidden = !onAir;
  $('#desk-talk').hidden = !onAir;
  $('#desk-talk-level').value = mine ? mine.level : 0;
  line.dataset.state = mine && mine.talking ? 'talking' : 'silent';
  const now = onAir ? Boolean(mine && mine.talking) : null;
  if (now !== saidTalking) {
    saidTalking = now;
    line.textContent = now === null ? '' : t(now ? 'voice.talking_now' : 'voice.talking_silent');
  }
}
client.addEventListener('talking', renderTalking);

// ---------------------------------------------------------------- wiring

client.addEventListener('welcome', () => {
  showSession();
  renderDesk();
  renderLive();
  renderTalking();
});
client.addEventListener('media', renderDesk);
client.addEventListener('update', (ev) => {
  if (ev.detail.kind === 'session') showSession();
  if (ev.detail.kind === 'voice') {
    renderLive();
    renderTalking();
  }
});
onLanguageChange(() => {
  saidTalking = undefined;
  renderTalking();
  showSession();
  renderDesk();
  renderLive();
  listDevices();
});

if (!link.session || !client.canJoin) {
  flash(fatalBox, t('link.missing'), 'error');
} else {
  $('#app').hidden = false;
  showSession();
  renderDesk();
  renderLive();
  listDevices();
  client.start();
}
