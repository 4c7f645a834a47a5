// The venue screen: large captions, who has the floor, and how to join (link and QR code).
// The screen link carries only the screen's token; the organizer page adds the
// participant link as `&join=<url>` in the fragment for the QR code.

import { HubClient } from './client.js';
import { t, onLanguageChange } from './i18n.js';
import { $, pageLink, bootPage, connectionBadge, languagePicker, flash, fatalText } from './ui.js';
import { captionsPanel, floorPanel, relayStatus } from './audience.js';
import { qrSvg, qrAvailable, labelQr } from './qr.js';

bootPage('page.screen');
const link = pageLink();
const client = new HubClient({ session: link.session, role: 'screen', joinToken: link.token, keepCaptions: 120 });
const model = client.model;
$('#tools').append(connectionBadge(client), languagePicker());

const fixedLang = link.params.get('lang');
const captions = captionsPanel(client, { big: true, id: 'screen-captions', storeKey: 'igf.screenLang',
  fixedLang: fixedLang || null });
const floor = floorPanel(client, { id: 'screen-floor', big: true });
$('#screen-main').append(captions.root);
$('#screen-side').prepend(floor.root);
// On a hub's relay: whether the room is linked to the meeting (hidden on a normal server).
const relay = relayStatus(client, { downKey: 'relay.down_screen', id: 'screen-relay' });
$('#screen-side').prepend(relay.root);

const joinUrl = link.params.get('join');
const joinBox = $('#join-box');
function showJoin() {
  if (!joinUrl || !/^https?:\/\//.test(joinUrl)) {
    joinBox.hidden = true;
    return;
  }
  joinBox.hidden = false;
  const holder = $('#qr');
  if (!holder.firstChild && qrAvailable()) holder.append(qrSvg(joinUrl, t('screen.qr_label')));
  const svg = holder.querySelector('svg');
  if (svg) labelQr(svg, t('screen.qr_label'));
  $('#join-url').textContent = joinUrl;
}

function showSession() {
  const session = model.session;
  $('#session-title').textContent = session ? session.title : t('page.screen');
}

client.addEventListener('welcome', showSession);
client.addEventListener('update', (ev) => { if (ev.detail.kind === 'session') showSession(); });
client.addEventListener('fatal', (ev) => flash($('#fatal'), fatalText(ev.detail), 'error'));
onLanguageChange(() => {
  showSession();
  showJoin();
});
showJoin();

/** Keep a projector's screen awake while the page is shown (where the browser allows it). */
async function stayAwake() {
  if (!('wakeLock' in navigator) || document.visibilityState !== 'visible') return;
  try {
    await navigator.wakeLock.request('screen');
  } catch {
    /* not allowed here (no secure context, or power saving): the display may dim */
  }
}
document.addEventListener('visibilitychange', stayAwake);
stayAwake();

if (!link.session || !client.canJoin) {
  flash($('#fatal'), t('link.missing'), 'error');
} else {
  if (model.session) showSession();
  client.start();
}
