// The moderators' voice panel: is voice on, is the audio desk there, and the live remote
// speaker's audio ("live audio from …", its state: waiting for the microphone, on air,
// muted, cut) with the `voice` command's mute, unmute and cut (docs/protocol.md §19.3).
// The protocol carries no audio level to the hub (audio never passes through it), so the
// indicator is the state, in words and colour.

import { t, onLanguageChange } from './i18n.js';
import { h, originLabel, formatDuration, flash, errorText, bidi } from './ui.js';

export function voicePanel(client, { say, id = 'mod-voice' } = {}) {
  const status = h('p', { class: 'voice-status', id: `${id}-status` });
  const deskLine = h('p', { class: 'hint', id: `${id}-desk` });
  const live = h('p', { class: 'voice-live', id: `${id}-live`, dir: 'auto' });
  const indicator = h('p', { class: 'voice-indicator', id: `${id}-indicator`, role: 'status' });
  const buttons = {};
  for (const [action, variant] of [['mute', ''], ['unmute', ''], ['cut', 'btn-danger']]) {
    buttons[action] = h('button', { type: 'button', class: `btn btn-sm ${variant}`.trim(),
      id: `${id}-${action}`, dataset: { i18n: `voice.action_${action}` } });
  }
  const message = h('p', { class: 'form-message', role: 'alert', hidden: true });
  const actions = h('div', { class: 'actions' }, buttons.mute, buttons.unmute, buttons.cut);
  const root = h('section', { class: 'card voice', id, 'aria-labelledby': `${id}-title`, hidden: true },
    h('h2', { id: `${id}-title`, dataset: { i18n: 'voice.mod_title' } }),
    status, deskLine, live, indicator, actions, message);
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
  client.addEventListener('welcome', render);
  client.addEventListener('update', (ev) => { if (ev.detail.kind === 'voice') render(); });
  onLanguageChange(render);
  render();
  return { root, render };
}
