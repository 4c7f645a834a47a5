// People on the moderator console: the roll call of regional hubs (connected or offline,
// last seen, attendees, items waiting) and the people removed from the session, with
// "Allow back".

import { t, onLanguageChange } from './i18n.js';
import {
  h, fill, badge, bidi, errorText, flash, regionName, relativeTime,
} from './ui.js';

const TICK_MS = 30000; // "last seen 3 minutes ago" moves on

/** Fill `list` with one row per hub of the roll call (snapshot.hubs + hub_status events). */
export function rollCall(client, list, empty) {
  const model = client.model;
  // The roll call's `waiting` is counted when a hub_status event is made; the moderators'
  // items are newer, so count from them (the hub's own items and its attendees').
  const WAITING = new Set(['local', 'pending', 'approved']);
  const waiting = (hub) => {
    const origin = `hub:${hub.name}`;
    let n = 0;
    for (const item of model.items.values()) {
      const mine = item.hub !== undefined ? item.hub === hub.hub : item.origin === origin;
      if (mine && WAITING.has(item.status)) n += 1;
    }
    return model.items.size ? n : hub.waiting || 0;
  };
  const render = () => {
    const hubs = [...model.hubs.values()].sort((a, b) => String(a.name).localeCompare(String(b.name)));
    empty.hidden = hubs.length > 0;
    const now = client.serverNow();
    fill(list, hubs.map((hub) => {
      const place = hub.place || {};
      const where = [place.city, place.country ? regionName(place.country) : ''].filter(Boolean).join(', ');
      const connected = hub.connected !== false;
      const facts = [t('presence.hub_attendees', { n: hub.attendees || 0 }),
        t('roll.waiting', { n: waiting(hub) })];
      // A connected hub is here now; an offline one says when it was last heard from.
      if (!connected && hub.last_seen) facts.push(t('roll.last_seen', { when: relativeTime(hub.last_seen, now) }));
      // The hub's latest count jumped implausibly (hub/domain/commands.py hub_status).
      const jump = typeof hub.jump === 'number'
        ? h('span', { class: 'hub-jump' },
          badge(t('roll.jump', { from: hub.jump, n: hub.attendees || 0 }), 'status-pending'))
        : null;
      return h('li', { class: 'hub-row', dataset: { hub: hub.hub, connected: connected ? 'yes' : 'no' } },
        h('div', { class: 'hub-row-head' },
          h('span', { class: 'hub-name', dir: 'auto' }, hub.name),
          badge(t(connected ? 'roll.connected' : 'roll.offline'), connected ? 'status-approved' : 'muted')),
        where ? h('span', { class: 'hub-place', dir: 'auto' }, where) : null,
        h('span', { class: 'hub-facts' }, facts.join(' · ')), jump);
    }));
  };
  client.addEventListener('welcome', render);
  client.addEventListener('update', (ev) => {
    const { kind, data } = ev.detail;
    if (kind === 'hub_status' || (kind === 'item' && String(data.origin).startsWith('hub:'))) render();
  });
  onLanguageChange(render);
  window.setInterval(() => {
    if (document.visibilityState === 'visible' && model.hubs.size) render();
  }, TICK_MS);
  return { render };
}

/** The people removed from the session, with "Allow back" (`ban {identity, undo: true}`). */
export function bannedPanel(client, { say } = {}) {
  const model = client.model;
  const list = h('ul', { id: 'banned-list', class: 'item-list' });
  const empty = h('p', { class: 'empty', dataset: { i18n: 'ban.empty' } });
  const message = h('p', { class: 'form-message', role: 'alert', hidden: true });
  const root = h('section', { class: 'card banned', id: 'banned', 'aria-labelledby': 'banned-title' },
    h('h2', { id: 'banned-title', tabindex: '-1' }, h('span', { dataset: { i18n: 'ban.title' } }),
      h('span', { id: 'banned-count', class: 'count-pill' }, '0')),
    h('p', { class: 'hint', dataset: { i18n: 'ban.help' } }),
    message, empty, list);

  const render = () => {
    const people = [...model.banned.values()].sort((a, b) => String(a.name).localeCompare(String(b.name)));
    fill(list, people.map((person) => {
      const allow = h('button', { type: 'button', class: 'btn btn-sm', dataset: { action: 'unban' },
        'aria-label': t('ban.undo_label', { name: person.name }) }, t('ban.undo'));
      allow.addEventListener('click', () => {
        allow.disabled = true;
        client.send('ban', { identity: person.identity, undo: true }).then(() => {
          say(t('ban.undone', { name: bidi(person.name) }));
          window.setTimeout(() => (list.querySelector('button') || root.querySelector('h2')).focus(), 0);
        }, (error) => {
          allow.disabled = false;
          flash(message, errorText(error), 'error');
        });
      });
      return h('li', { class: 'item', dataset: { identity: person.identity } },
        h('p', { class: 'item-text', dir: 'auto' }, person.name),
        person.reason ? h('p', { class: 'item-detail' }, t('ban.reason', { reason: bidi(person.reason) })) : null,
        h('div', { class: 'actions' }, allow));
    }));
    empty.hidden = people.length > 0;
    root.querySelector('#banned-count').textContent = String(people.length);
  };
  client.addEventListener('welcome', render);
  client.addEventListener('update', (ev) => {
    if (ev.detail.kind === 'ban') render();
  });
  onLanguageChange(render);
  return { root, render };
}
