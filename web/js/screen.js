// The venue screen: large captions, who has the floor, and how to join (link and QR code).
// The screen link carries only the screen's token; the organizer page adds the
// participant link as `&join=<url>` in the fragment for the QR code.

import { HubClient } from './client.js';
import { t, onLanguageChange } from './i18n.js';
import { h, $, pageLink, bootPage, connectionBadge, languagePicker, flash } from './ui.js';
import { captionsPanel, floorPanel } from './audience.js';

const SVG = 'http://www.w3.org/2000/svg';

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

/** The join link as an SVG QR code: one path of dark modules on a white quiet zone. */
function qrSvg(text) {
  const qr = window.qrcode(0, 'M');
  qr.addData(text);
  qr.make();
  const count = qr.getModuleCount();
  const quiet = 4;
  const size = count + quiet * 2;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${size} ${size}`);
  svg.setAttribute('class', 'qr');
  svg.setAttribute('role', 'img');
  svg.setAttribute('shape-rendering', 'crispEdges');
  const title = document.createElementNS(SVG, 'title');
  svg.append(title);
  const background = document.createElementNS(SVG, 'rect');
  background.setAttribute('width', String(size));
  background.setAttribute('height', String(size));
  background.setAttribute('fill', '#ffffff');
  svg.append(background);
  let d = '';
  for (let row = 0; row < count; row += 1) {
    for (let col = 0; col < count; col += 1) {
      if (qr.isDark(row, col)) d += `M${col + quiet} ${row + quiet}h1v1h-1z`;
    }
  }
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('d', d);
  path.setAttribute('fill', '#000000');
  svg.append(path);
  return svg;
}

const joinUrl = link.params.get('join');
const joinBox = $('#join-box');
function showJoin() {
  if (!joinUrl || !/^https?:\/\//.test(joinUrl)) {
    joinBox.hidden = true;
    return;
  }
  joinBox.hidden = false;
  const holder = $('#qr');
  if (!holder.firstChild && typeof window.qrcode === 'function') holder.append(qrSvg(joinUrl));
  const title = holder.querySelector('title');
  if (title) title.textContent = t('screen.qr_label');
  const svg = holder.querySelector('svg');
  if (svg) svg.setAttribute('aria-label', t('screen.qr_label'));
  $('#join-url').textContent = joinUrl;
}

function showSession() {
  const session = model.session;
  $('#session-title').textContent = session ? session.title : t('page.screen');
}

client.addEventListener('welcome', showSession);
client.addEventListener('update', (ev) => { if (ev.detail.kind === 'session') showSession(); });
client.addEventListener('fatal', (ev) => {
  flash($('#fatal'), ev.detail.code === 'not_found' ? t('link.not_found') : t('link.refused'), 'error');
});
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
