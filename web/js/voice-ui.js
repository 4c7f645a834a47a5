// The voice panels of the participant and hub pages: "Listen to the room" (one click, a
// volume, the state in words) and the microphone of a remote speaker whose item is live
// (consent text before an explicit click, a level meter, "you are live" with the speaking
// time). docs/protocol.md §19; the links themselves are in voice.js.

import { t, onLanguageChange } from './i18n.js';
import { h, formatDuration, storage } from './ui.js';
import { VoiceLink, VoiceState, voiceStatus, onRelay, relayDown, meterValue } from './voice.js';

/** The words for a link's state (and its reason), for a role=status line. */
export function voiceStateText(link, { want = link.want } = {}) {
  const { state, reason } = link;
  if (state === VoiceState.REFUSED || state === VoiceState.FAILED) {
    const known = ['voice_off', 'not_your_turn', 'cut', 'closed', 'desk_active', 'mic_denied',
      'mic_missing', 'no_library', 'forbidden'];
    return t(`voice.why_${known.includes(reason) ? reason : 'other'}`);
  }
  if (state === VoiceState.RECONNECTING && reason === 'voice_down') return downText(link.client);
  return t(`voice.state_${want}_${state}`);
}

/** Voice is down: on a relay whose link is down, that is why (and it comes back with it). */
function downText(client) {
  return t(relayDown(client) ? 'voice.relay_down' : 'voice.down');
}

/** The explanation shown instead of the controls when voice cannot be used here. */
export function voiceUnavailableText(client, rerender = null) {
  const status = voiceStatus(client, rerender);
  if (status.library === false) return t('voice.why_no_library');
  if (status.voice === 'down') return downText(client);
  if (status.voice === 'off') return t(onRelay(client) ? 'voice.relay' : 'voice.off');
  return '';
}

function levelMeter(id, labelKey) {
  const label = h('label', { for: id, dataset: { i18n: labelKey } });
  const meter = h('meter', { id, min: '0', max: '100', low: '20', high: '85', optimum: '50', value: '0' });
  return { root: h('div', { class: 'voice-meter' }, label, meter), meter };
}

/** Keeps a <meter> on a link's level while shown; returns a stop function. */
export function followLevel(meter, link, which) {
  const timer = window.setInterval(() => { meter.value = meterValue(link.level(which)); }, 100);
  return () => { window.clearInterval(timer); meter.value = 0; };
}

/** "Listen to the room": hidden when voice is off (explained on a relay), explained when down
 * (on a relay whose link is down: that the audio comes back with the link). */
export function listenPanel(client, { say, id = 'listen' } = {}) {
  const audio = h('audio', { class: 'voice-audio' });
  const link = new VoiceLink(client, 'listen', { audio });
  const button = h('button', { type: 'button', class: 'btn btn-primary', id: `${id}-toggle`,
    'aria-pressed': 'false' });
  const volumeKey = 'igf.listenVolume';
  const stored = storage.get(volumeKey);
  const volume = h('input', { type: 'range', id: `${id}-volume`, min: '0', max: '100', step: '5',
    value: String(typeof stored === 'number' ? stored : 80) });
  const status = h('p', { class: 'voice-status', id: `${id}-status`, role: 'status' });
  const note = h('p', { class: 'hint', id: `${id}-note` });
  const level = levelMeter(`${id}-level`, 'voice.listen_level');
  level.root.hidden = true;
  const controls = h('div', { class: 'voice-controls' }, button,
    h('div', { class: 'field voice-volume' },
      h('label', { for: `${id}-volume`, dataset: { i18n: 'voice.volume' } }), volume));
  const root = h('section', { class: 'card voice', id, 'aria-labelledby': `${id}-title`, hidden: true },
    h('h2', { id: `${id}-title`, dataset: { i18n: 'voice.listen_title' } }), controls, level.root,
    status, note, audio);
  let stopLevel = null;

  const render = () => {
    const status_ = voiceStatus(client, render);
    const unavailable = voiceUnavailableText(client);
    root.hidden = status_.voice === 'off' && !onRelay(client);
    const usable = status_.voice !== 'off';
    controls.hidden = !usable;
    note.textContent = unavailable;
    note.hidden = !unavailable;
    const on = link.running;
    button.textContent = t(on ? 'voice.listen_stop' : 'voice.listen_start');
    button.setAttribute('aria-pressed', String(on));
    status.textContent = usable || link.state !== VoiceState.OFF ? voiceStateText(link) : '';
    root.dataset.state = link.state;
    // What arrives, so a listener can tell silence in the room from a broken link.
    level.root.hidden = !on;
    if (on && !stopLevel) stopLevel = followLevel(level.meter, link, 'remote');
    if (!on && stopLevel) {
      stopLevel();
      stopLevel = null;
    }
  };

  button.addEventListener('click', () => {
    if (link.running) link.stop();
    else link.start({ volume: Number(volume.value) / 100 });
  });
  volume.addEventListener('input', () => {
    link.setVolume(Number(volume.value) / 100);
    storage.set(volumeKey, Number(volume.value));
  });
  link.addEventListener('state', (ev) => {
    render();
    if (say && [VoiceState.LISTENING, VoiceState.REFUSED, VoiceState.FAILED].includes(ev.detail.state)) {
      say(voiceStateText(link));
    }
  });
  client.addEventListener('media', render);
  client.addEventListener('welcome', render);
  client.addEventListener('update', (ev) => { if (ev.detail.kind === 'relay') render(); });
  onLanguageChange(render);
  render();
  return { root, link, render };
}

/** The live item, when it is this page's own and its author may speak (or null). */
function ownLiveItem(client) {
  const voice = client.model.voice;
  if (!voice || !voice.item) return null;
  const mine = client.model.mine.has(voice.item)
    || (client.role === 'hub' && client.model.relayed.has(voice.item))
    // On a relay the live item is the meeting's copy of the hub's own (its id is the
    // meeting's): the meeting names the hub as its origin.
    || (client.role === 'hub' && onRelay(client) && voice.origin === `hub:${client.model.relay.hub}`);
  return mine ? voice.item : null;
}

/**
 * The microphone of a remote speaker: appears when their own item is live and voice is
 * on; asks for an explicit click after saying the intervention is recorded; shows a level
 * and "you are live" with the speaking time; stops the microphone when the turn ends.
 */
export function speakPanel(client, { say, id = 'speak' } = {}) {
  const link = new VoiceLink(client, 'speak');
  const consent = h('p', { class: 'voice-consent', id: `${id}-consent`, dataset: { i18n: 'voice.consent' } });
  const start = h('button', { type: 'button', class: 'btn btn-primary', id: `${id}-start`,
    'aria-describedby': `${id}-consent`, dataset: { i18n: 'voice.mic_on' } });
  const stop = h('button', { type: 'button', class: 'btn', id: `${id}-stop`, hidden: true,
    dataset: { i18n: 'voice.mic_off' } });
  const level = levelMeter(`${id}-level`, 'voice.mic_level');
  const status = h('p', { class: 'voice-status', id: `${id}-status`, role: 'status' });
  const timer = h('p', { class: 'floor-timer', role: 'timer', 'aria-live': 'off' });
  const root = h('section', { class: 'card voice voice-speak', id, 'aria-labelledby': `${id}-title`, hidden: true },
    h('h2', { id: `${id}-title`, dataset: { i18n: 'voice.speak_title' } }),
    h('p', { class: 'voice-prompt', dataset: { i18n: 'voice.speak_prompt' } }),
    consent, h('div', { class: 'actions' }, start, stop), level.root, status, timer);
  let item = null;
  let stopLevel = null;
  let ticker = 0;

  const tick = () => {
    const floor = client.model.floor;
    if (link.state !== VoiceState.LIVE || !floor.since || floor.item !== item) {
      timer.hidden = true;
      return;
    }
    const elapsed = (client.serverNow() - floor.since) / 1000;
    timer.hidden = false;
    timer.textContent = floor.limit
      ? t('floor.time_left', { time: formatDuration(Math.max(0, floor.limit - elapsed)) })
      : t('floor.speaking_for', { time: formatDuration(Math.max(0, elapsed)) });
  };

  const render = () => {
    const voice = voiceStatus(client, render).voice;
    const usable = voice !== 'off';
    const own = ownLiveItem(client);
    if (own && own !== item && say && voice === 'on') say(t('voice.speak_prompt'));
    if (item && own !== item) {
      // The turn ended (done, another speaker, cut, time over): the microphone goes off
      // here too (the hub has already closed it on the media server).
      link.stop();
      if (say) say(t('voice.turn_ended'));
    }
    item = own;
    const cut = Boolean(item && client.model.voice && client.model.voice.cut);
    if (cut && link.running) {
      // A moderator cut this turn's audio: the hub removed the grant; stop asking for one.
      link.stop();
      if (say) say(t('voice.why_cut'));
    }
    root.hidden = !(item && (usable || link.running));
    start.disabled = voice !== 'on';
    const live = link.state === VoiceState.LIVE;
    start.hidden = link.running || cut;
    stop.hidden = !link.running;
    level.root.hidden = !link.running;
    const muted = Boolean(client.model.voice && client.model.voice.muted);
    if (cut) status.textContent = t('voice.why_cut');
    else if (link.state === VoiceState.OFF) status.textContent = voice === 'down' ? downText(client) : '';
    else if (live && muted) status.textContent = t('voice.muted_by_moderator');
    else status.textContent = voiceStateText(link);
    root.dataset.state = link.state;
    window.clearInterval(ticker);
    tick();
    if (live) ticker = window.setInterval(tick, 1000);
  };

  start.addEventListener('click', () => {
    link.start();
    stopLevel = stopLevel || followLevel(level.meter, link, 'local');
  });
  stop.addEventListener('click', () => {
    link.stop();
    start.focus();
  });
  link.addEventListener('state', (ev) => {
    if (ev.detail.state === VoiceState.OFF || ev.detail.state === VoiceState.REFUSED) {
      if (stopLevel) stopLevel();
      stopLevel = null;
    }
    render();
    if (say && [VoiceState.LIVE, VoiceState.REFUSED].includes(ev.detail.state)) say(voiceStateText(link));
  });
  client.addEventListener('media', render);
  client.addEventListener('welcome', render);
  client.addEventListener('update', (ev) => {
    const { kind } = ev.detail;
    if (kind === 'voice' || kind === 'floor' || kind === 'item' || kind === 'relay') render();
  });
  onLanguageChange(render);
  render();
  return { root, link, render };
}
