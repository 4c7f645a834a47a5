// The public event site: adds the reader's own time beside each session's time, when the
// reader's time zone differs from the event's. Progressive enhancement: the page says the
// event's time and UTC without it. The label comes from the page (data-your-time).

const main = document.getElementById('main');
const eventZone = main?.dataset.zone;
const label = main?.dataset.yourTime;
const lang = document.documentElement.lang || 'en';

function clock(ms, timeZone) {
  return new Intl.DateTimeFormat(lang, {
    hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone,
  }).format(new Date(ms));
}

function addReadersTime() {
  if (!main || !eventZone || !label) return;
  let readerZone;
  try {
    readerZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch {
    return;
  }
  if (!readerZone || readerZone === eventZone) return;
  for (const when of document.querySelectorAll('p.when[data-start][data-end]')) {
    const start = Number(when.dataset.start);
    const end = Number(when.dataset.end);
    if (!Number.isFinite(start) || !Number.isFinite(end)) continue;
    const theirs = `${clock(start, readerZone)}–${clock(end, readerZone)}`;
    if (theirs === `${clock(start, eventZone)}–${clock(end, eventZone)}`) continue;
    const span = document.createElement('span');
    span.className = 'yours';
    const range = document.createElement('bdi');
    range.dir = 'ltr';
    range.textContent = `${theirs} (${readerZone})`;
    span.append(`${label}: `, range);
    when.append(span);
  }
}

addReadersTime();
