// The moderators' voice panel: is voice on, is the audio desk there, and the live remote
// speaker's audio ("live audio from …", its state: waiting for the microphone, on air,
// muted, cut) with the `voice` command's mute, unmute and cut (docs/protocol.md §19.3).
// While the speaker is on air, the hub's `talking` frames (docs/protocol.md §19.6: Janus's
// talking detection and level, a few times a second at most) drive a meter and a
// "Speaking now" / "Not speaking" line. That line is a polite live region whose text
// changes only when talking starts or stops, so a screen reader is not flooded; the meter
// moves silently.

import { t, onLanguageChange } from './i18n.js';
import { h, originLabel, formatDuration, flash, errorText, bidi } from './ui.js';

export function voicePanel(client, { say, id = 'mod-voice' } = {}) {
  const status = h('p', { class: 'voice-status', id: `${id}-status` });
  const deskLine = h('p', { class: 'hint', id: `${id}-desk` });
  const live = h('p', { class: 'voice-live', id: `${id}-live`, dir: 'auto' });
  const indicator = h('p', { class: 'voice-indicator', id: `${id}-indicator`, role: 'status' });
  const talkLine = h('p', { class: 'voice-talking', id: `${id}-talking`, 'aria-live': 'polite' });
  const meterLabel = h('label', { for: `${id}-level`, dataset: { i18n: 'voice.level' } });
  const meter = h('meter', { id: `${id}-level`, min: 0, max: 3, low: 1, high: 3, optimum: 2, value: 0 });
  const talkBox = h('div', { class: 'voice-meter', id: `${id}-talk` }, meterLabel, meter);
  const buttons = {};
  for (const [action, variant] of [['mute', ''], ['unmute', ''], ['cut', 'btn-danger']]) {
    buttons[action] = h('button', { type: 'button', class: `btn btn-sm ${variant}`.trim(),
      id: `${id}-${action}`, dataset: { i18n: `voice.action_${action}` } });
  }
  const message = h('p', { class: 'form-message', role: 'alert', hidden: true });
  const actions = h('div', { class: 'actions' }, buttons.mute, buttons.unmute, buttons.cut);
  const root = h('section', { class: 'card voice', id, 'aria-labelledby': `${id}-title`, hidden: true },
    h('h2', { id: `${id}-title`, dataset: { i18n: 'voice.mod_title' } }),
    status, deskLine, live, indicator, talkLine, talkBox, actions, message);
  let ticker = 0;

  const render = () => {
    // The hub's word (the moderators' page does not load janus.js itself).
    const media = client.media && client.media.voice ? client.media : { voice: 'off' };
    const voice = client.model.voice;
    root.hidden = media.voice === 'off' && !client.model.relay;
    status.textContent = t(`voice.status_${media.voice}`);
    status.dataset.state = media.voice;
    deskLine.textContent = t(voice && voice.desk ? 'voice.desk_present' : 'voice.desk_absent');
    window.clearInterval(ticker);
    const item = voice && voice.item;
    actions.hidden = !item;
    live.hidden = !item;
    indicator.hidden = !item;
    if (!item) return;
    const who = voice.speaker || t('item.anonymous');
    live.textContent = t('voice.live_from', { name: bidi(who), origin: originLabel(voice.origin) });
    let state = 'waiting';
    if (voice.cut) state = 'cut';
    else if (voice.since && voice.muted) state = 'muted';
    else if (voice.since) state = 'on_air';
    indicator.dataset.state = state;
    // A cut by the audio desk (docs/protocol.md §19.3) says so: the desk's own word.
    const key = state === 'cut' && voice.cut_by === 'desk' ? 'cut_desk' : state;
    const tick = () => {
      const time = voice.since ? formatDuration(Math.max(0, (client.serverNow() - voice.since) / 1000)) : '';
      indicator.textContent = t(`voice.indicator_${key}`, { time });
    };
    tick();
    if (state === 'on_air' || state === 'muted') ticker = window.setInterval(tick, 1000);
    buttons.mute.hidden = Boolean(voice.muted) || Boolean(voice.cut);
    buttons.unmute.hidden = !voice.muted || Boolean(voice.cut);
    buttons.cut.disabled = Boolean(voice.cut);
  };

  // The talking line and meter: only while the speaker is on air.
  let said = null; // the talking state the line last said (it changes only with it)
  const renderTalking = () => {
    const voice = client.model.voice;
    const onAir = Boolean(voice && voice.item && voice.since && !voice.cut);
    const talk = client.talking;
    const mine = onAir && talk && talk.item === voice.item ? talk : null;
    talkBox.hidden = !onAir;
    talkLine.hidden = !onAir;
    meter.value = mine ? mine.level : 0;
    talkLine.dataset.state = mine && mine.talking ? 'talking' : 'silent';
    const now = onAir ? Boolean(mine && mine.talking) : null;
    if (now !== said) {
      said = now;
      talkLine.textContent = now === null ? '' : t(now ? 'voice.talking_now' : 'voice.talking_silent');
    }
  };

  for (const [action, button] of Object.entries(buttons)) {
    button.addEventListener('click', async () => {
      flash(message, '');
      button.disabled = true;
      try {
        await client.send('voice', { action }, { retryUnavailable: false });
        if (say) say(t(`voice.done_${action}`));
      } catch (error) {
        flash(message, errorText(error), 'error');
      } finally {
        button.disabled = false;
        render();
      }
    });
  }
  client.addEventListener('media', render);
  client.addEventListener('welcome', () => { render(); renderTalking(); });
  client.addEventListener('update', (ev) => {
    if (ev.detail.kind === 'voice') {
      render();
      renderTalking();
    }
  });
  client.addEventListener('talking', renderTalking);
  onLanguageChange(() => { said = undefined; render(); renderTalking(); });
  render();
  renderTalking();
  return { root, render };
}
