// The hub's wire protocol for every page (docs/protocol.md): join with `hello`, fold the
// snapshot and the events into a model, resume after any disconnect with channel offsets,
// and keep an outbox of unacknowledged commands that is replayed with the same idempotency
// keys (`ask.key`, caption `seq`) after a reconnect, a server restart or a page reload.

export const ConnState = Object.freeze({
  CONNECTING: 'connecting', // first connection of this page
  LIVE: 'live', // welcomed, events flowing
  RECONNECTING: 'reconnecting', // lost the connection, retrying with backoff
  OFFLINE: 'offline', // the browser is offline, or the server said not to come back
});

// Close codes (docs/protocol.md): 4000-4499 reconnect and resume, 4500-4999 do not.
const CLOSE_RESTART = 1012;
const CLOSE_POLICY = 1008;
const CLOSE_RESYNC = 4000;
// What a terminal close code means, in the error codes the pages already explain.
const CLOSE_MEANING = { 4501: 'unauthorized', 4503: 'forbidden', 4504: 'not_found' };
const TERMINAL_ERRORS = new Set(['unauthorized', 'forbidden', 'not_found']);
// Commands without an idempotency key: a `conflict` after a replay means the first try landed.
const REPLAY_CONFLICT_OK = new Set(['moderate', 'withdraw']);

const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30000;
const PING_EVERY_MS = 20000;
const SILENCE_LIMIT_MS = 45000;
const WELCOME_TIMEOUT_MS = 10000;
const SAVE_DELAY_MS = 1000;
const MAX_FRAME_CHARS = 60000;

const EMPTY_FLOOR = Object.freeze({ item: null, speaker: null, since: null, limit: null });

function storageGet(key) {
  try {
    const raw = window.localStorage.getItem(key);
    return raw === null ? null : JSON.parse(raw);
  } catch {
    return null;
  }
}

function storageSet(key, value) {
  try {
    if (value === null) window.localStorage.removeItem(key);
    else window.localStorage.setItem(key, JSON.stringify(value));
  } catch {
    /* quota or disabled storage: the page still works, it only forgets on reload */
  }
}

function makeRef() {
  const raw = new Uint8Array(6);
  crypto.getRandomValues(raw);
  return Array.from(raw, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * What a client knows about its session: a fold of the welcome snapshot and every event
 * after it, in channel order. Pure data; the pages render from it.
 */
export class Model {
  constructor({ keepCaptions = 300, privateRole = false } = {}) {
    this.keepCaptions = keepCaptions;
    this.privateRole = privateRole;
    this.reset();
  }

  reset() {
    this.session = null;
    this.items = new Map();
    this.order = [];
    this.floor = { ...EMPTY_FLOOR };
    this.captions = {};
    this.partial = {};
    this.votes = new Set();
    this.mine = new Set();
    this.notes = [];
    this.hubs = new Map();
    this.captionSeq = {};
    this.presence = {};
    // Moderators: takeaways and calls to action, removed identities, how the floor is ordered.
    this.flags = new Map();
    this.banned = new Map();
    this.floorSettings = { ordering: 'arrival' };
    // A hub: its own last reported attendee count; items its attendees asked (its relay).
    this.attendees = null;
    this.relayed = new Set();
    // On a hub's relay only: the link to the meeting {connected, since, hub, waiting}.
    this.relay = null;
    // Voice (docs/protocol.md §19.4): the desk, the live speaker's audio and its controls.
    this.voice = null;
  }

  loadSnapshot(session, snapshot) {
    this.reset();
    this.session = session;
    for (const item of snapshot.items || []) {
      this.items.set(item.id, item);
      if (this.privateRole && 'anonymous' in item) this.mine.add(item.id);
    }
    this.order = [...(snapshot.order || [])];
    this.floor = { ...EMPTY_FLOOR, ...(snapshot.floor || {}) };
    for (const [lang, lines] of Object.entries(snapshot.captions || {})) {
      this.captions[lang] = lines.map((line) => ({ ...line }));
    }
    this.partial = { ...(snapshot.partial || {}) };
    this.votes = new Set(snapshot.votes || []);
    this.captionSeq = { ...(snapshot.caption_seq || {}) };
    this.notes = (snapshot.notes || []).map((note) => ({ ...note }));
    for (const hub of snapshot.hubs || []) this.hubs.set(hub.hub, hub);
    this.presence = snapshot.presence || {};
    for (const flag of snapshot.flags || []) this.flags.set(flag.id, { ...flag });
    for (const ban of snapshot.banned || []) this.banned.set(ban.identity, { ...ban });
    if (snapshot.floor_settings) this.floorSettings = { ...snapshot.floor_settings };
    if (typeof snapshot.attendees === 'number') this.attendees = snapshot.attendees;
    this.relay = snapshot.relay ? { ...snapshot.relay } : null;
    this.voice = snapshot.voice ? { ...snapshot.voice } : null;
  }

  /** Fold one event; returns nothing, the pages re-render from the model. */
  apply(channel, kind, data, ts) {
    switch (kind) {
      case 'item': {
        const old = this.items.get(data.id);
        const item = { ...old, ...data };
        // The own view carries `anonymous`; a hub's private channel also relays, in the
        // public view, the items its attendees asked: those are not the hub's own.
        if (channel === 'private' && 'anonymous' in data) this.mine.add(data.id);
        else if (channel === 'private') this.relayed.add(data.id);
        else if (old && this.mine.has(data.id)) {
          // The public view hides an anonymous author; the author still sees their own name.
          item.author = old.author;
          item.anonymous = old.anonymous;
        }
        this.items.set(data.id, item);
        break;
      }
      case 'order':
        this.order = [...data.items];
        break;
      case 'floor':
        this.floor = { ...EMPTY_FLOOR, ...data };
        break;
      case 'caption': {
        const line = { ...data, ts };
        if (data.seq !== undefined && data.seq !== null) {
          this.captionSeq[data.lang] = Math.max(this.captionSeq[data.lang] || 0, data.seq);
        }
        if (data.final === false) {
          this.partial[data.lang] = line;
        } else {
          const lines = this.captions[data.lang] || (this.captions[data.lang] = []);
          lines.push(line);
          if (lines.length > this.keepCaptions) lines.splice(0, lines.length - this.keepCaptions);
          delete this.partial[data.lang];
        }
        break;
      }
      case 'session':
        this.session = { ...this.session, ...data };
        break;
      case 'note':
        this.notes.push({ ...data, ts });
        break;
      case 'vote':
        if (data.voted) this.votes.add(data.item);
        else this.votes.delete(data.item);
        break;
      case 'hub_status':
        this.hubs.set(data.hub, data);
        break;
      case 'flag':
        if (data.deleted) this.flags.delete(data.id);
        else this.flags.set(data.id, { ...this.flags.get(data.id), ...data });
        break;
      case 'ban':
        if (data.banned) this.banned.set(data.identity, { ...data });
        else this.banned.delete(data.identity);
        break;
      case 'floor_settings':
        this.floorSettings = { ...data };
        break;
      case 'relay':
        this.relay = { ...this.relay, ...data };
        break;
      case 'voice':
        // Staff read it twice (public, and moderation with `speaker_id`): merge, and drop a
        // speaker id that belonged to another item.
        if (this.voice && this.voice.item !== data.item) delete this.voice.speaker_id;
        this.voice = { ...this.voice, ...data };
        break;
      default:
        break; // kinds this client does not know yet are extensions: ignore them
    }
  }

  toJSON() {
    const captions = {};
    for (const [lang, lines] of Object.entries(this.captions)) {
      captions[lang] = lines.slice(-this.keepCaptions);
    }
    return {
      session: this.session,
      items: [...this.items.values()],
      order: this.order,
      floor: this.floor,
      captions,
      partial: this.partial,
      votes: [...this.votes],
      mine: [...this.mine],
      notes: this.notes.slice(-100),
      hubs: [...this.hubs.values()],
      captionSeq: this.captionSeq,
      flags: [...this.flags.values()],
      banned: [...this.banned.values()],
      floorSettings: this.floorSettings,
      attendees: this.attendees,
      relayed: [...this.relayed],
      relay: this.relay,
      voice: this.voice,
    };
  }

  restore(saved) {
    this.reset();
    this.session = saved.session;
    for (const item of saved.items || []) this.items.set(item.id, item);
    this.order = saved.order || [];
    this.floor = { ...EMPTY_FLOOR, ...(saved.floor || {}) };
    this.captions = saved.captions || {};
    this.partial = saved.partial || {};
    this.votes = new Set(saved.votes || []);
    this.mine = new Set(saved.mine || []);
    this.notes = saved.notes || [];
    for (const hub of saved.hubs || []) this.hubs.set(hub.hub, hub);
    this.captionSeq = saved.captionSeq || {};
    for (const flag of saved.flags || []) this.flags.set(flag.id, flag);
    for (const ban of saved.banned || []) this.banned.set(ban.identity, ban);
    this.floorSettings = saved.floorSettings || this.floorSettings;
    this.attendees = saved.attendees ?? null;
    this.relayed = new Set(saved.relayed || []);
    this.relay = saved.relay || null;
    this.voice = saved.voice || null;
  }
}

/**
 * One page's connection to the hub.
 *
 * Events (EventTarget): `status` (connection state changed), `welcome` ({recovered}),
 * `update` ({channel, kind, data, ts} after an event is folded), `presence`, `outbox`
 * (the list of unacknowledged commands changed), `ack` ({frame, reply}), `failed`
 * ({frame, error}), `fatal` ({code, message}: the server refused this page for good),
 * `name_refused` ({code, message, reason}: with `nameForm`, the server refused the name
 * at `hello`; the page asks for another and calls `rejoin()`), `media` (the voice status
 * frame {voice, run, reason}: docs/protocol.md §19.1; also set from `welcome.session.voice`),
 * `talking` (the live speaker's {item, talking, level}: §19.6, staff and desk pages).
 */
export class HubClient extends EventTarget {
  constructor({ session, role, joinToken, hello = () => ({}), keepCaptions = 300,
    persist = true, nameForm = false } = {}) {
    super();
    this.nameForm = nameForm; // the page can ask for another name when one is refused
    this.awaitingName = false;
    this.sessionId = session;
    this.role = role;
    this.helloFields = hello;
    this.persist = persist;
    this.storageKey = `igf:${session}:${role}`;
    this.model = new Model({ keepCaptions, privateRole: role === 'participant' || role === 'hub' });
    this.positions = {};
    this.you = null;
    this.state = ConnState.CONNECTING;
    this.stopReason = '';
    this.clockOffset = 0;
    this.outbox = [];
    this.ws = null;
    this.live = false;
    this.stopped = false;
    this.attempt = 0;
    this.timers = {};
    this.bye = null;
    this.usedPersonalToken = false;
    this.media = null; // the latest `media` frame: is voice on, and the media server's run
    this.talking = null; // the latest `talking` frame {item, talking, level}, staff and desk
    this.retryWithJoinToken = false;
    this.lastHeard = 0;
    this.lastPing = 0;
    this.saveTimer = 0;
    this.started = false;
    // Low bandwidth (`hello.lite`): the server skips others' items on `public`, so offsets
    // there jump. A model built in one mode cannot be resumed in the other.
    this.lite = false;
    this.modelLite = false;

    const identity = persist ? storageGet(`${this.storageKey}:id`) : null;
    if (joinToken && (!identity || identity.join !== joinToken)) {
      // A different link for this session and role (say, another hub): start afresh.
      this.forget();
      this.identity = { join: joinToken, token: null };
    } else {
      this.identity = identity || { join: joinToken, token: null };
    }
    if (persist) this.restore();
    this.onOnline = () => this.reconnectSoon(0);
    this.onOffline = () => {
      // The network is gone: drop the socket now rather than wait for it to time out; the
      // `online` event brings the page back with a resume.
      if (this.ws) this.ws.close(CLOSE_RESYNC, 'offline');
      this.setState(ConnState.OFFLINE);
    };
    this.onHidden = () => {
      if (document.visibilityState === 'hidden') this.saveNow();
      else if (!this.live && !this.stopped) this.reconnectSoon(0);
    };
    this.onPageHide = () => this.saveNow();
  }

  /** True when this page has joined before (a personal token is stored). */
  get known() {
    return Boolean(this.identity.token);
  }

  get canJoin() {
    return Boolean(this.identity.token || this.identity.join);
  }

  /** Server time now, in ms since the Unix epoch, as well as this client can tell. */
  serverNow() {
    return Date.now() + this.clockOffset;
  }

  start() {
    this.started = true;
    this.stopped = false;
    window.addEventListener('online', this.onOnline);
    window.addEventListener('offline', this.onOffline);
    document.addEventListener('visibilitychange', this.onHidden);
    window.addEventListener('pagehide', this.onPageHide);
    this.timers.ping = window.setInterval(() => this.keepAlive(), 5000);
    this.emit('status', { state: this.state });
    this.connect();
  }

  /** Close for good (the page is done with it). */
  stop(reason = '') {
    this.stopped = true;
    this.stopReason = reason;
    this.saveNow();
    window.clearInterval(this.timers.ping);
    window.clearTimeout(this.timers.retry);
    window.removeEventListener('online', this.onOnline);
    window.removeEventListener('offline', this.onOffline);
    document.removeEventListener('visibilitychange', this.onHidden);
    window.removeEventListener('pagehide', this.onPageHide);
    if (this.ws) this.ws.close(1000, 'bye');
    this.setState(ConnState.OFFLINE);
  }

  /** Say `hello` again (a new name, profile or in-the-room answer) on a fresh connection. */
  rejoin() {
    if (this.awaitingName) { // a refused name was changed: try again
      this.awaitingName = false;
      this.stopped = false;
    }
    if (this.stopped) return;
    if (this.ws) {
      const ws = this.ws;
      this.detach(ws);
      ws.close(1000, 'rejoin');
    }
    this.live = false;
    this.connect();
  }

  /**
   * Send a command; resolves with the `ack`, rejects with the `error` frame's fields.
   * Commands wait in the outbox while disconnected and are replayed after reconnecting;
   * `persist` keeps them across a page reload too (asks, captions).
   */
  send(type, fields = {}, { persist = false, retryUnavailable = true } = {}) {
    const entry = { ref: makeRef(), frame: { type, ...fields }, persist, sent: false, replay: false,
      retryUnavailable };
    if (JSON.stringify(entry.frame).length > MAX_FRAME_CHARS) {
      return Promise.reject({ code: 'too_large', message: 'frame too large' });
    }
    if (this.stopped && this.state === ConnState.OFFLINE && this.stopReason) {
      return Promise.reject({ code: 'offline', message: this.stopReason });
    }
    const promise = new Promise((resolve, reject) => {
      entry.resolve = resolve;
      entry.reject = reject;
    });
    this.outbox.push(entry);
    this.outboxChanged();
    if (this.live) this.transmit(entry);
    return promise;
  }

  /** The unacknowledged commands, oldest first: [{ref, frame, sent}]. */
  pending() {
    return this.outbox.map(({ ref, frame, sent }) => ({ ref, frame, sent }));
  }

  // ------------------------------------------------------------ connection

  connect() {
    if (this.stopped) return;
    window.clearTimeout(this.timers.retry);
    if (!navigator.onLine) {
      this.setState(ConnState.OFFLINE);
      return;
    }
    this.setState(this.you ? ConnState.RECONNECTING : ConnState.CONNECTING);
    const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
    const url = `${scheme}://${window.location.host}/ws/${encodeURIComponent(this.sessionId)}`;
    let ws;
    try {
      ws = new WebSocket(url);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    this.live = false;
    this.bye = null;
    ws.onopen = () => this.sayHello(ws);
    ws.onmessage = (msg) => this.receive(ws, msg);
    ws.onclose = (ev) => this.closed(ws, ev);
    ws.onerror = () => { /* onclose follows and decides */ };
    this.timers.welcome = window.setTimeout(() => {
      if (this.ws === ws && !this.live) ws.close(4000, 'no welcome');
    }, WELCOME_TIMEOUT_MS);
  }

  sayHello(ws) {
    const personal = this.identity.token && !this.retryWithJoinToken;
    this.usedPersonalToken = Boolean(personal);
    const token = personal ? this.identity.token : this.identity.join;
    const hello = { type: 'hello', ref: 'hello', token, ...this.helloFields() };
    this.lite = Boolean(hello.lite);
    if (!hello.lite) delete hello.lite;
    if (personal && this.model.session && Object.keys(this.positions).length
      && this.modelLite === this.lite) {
      hello.resume = this.positions;
    }
    this.lastHeard = Date.now();
    ws.send(JSON.stringify(hello));
  }

  receive(ws, msg) {
    if (ws !== this.ws) return;
    this.lastHeard = Date.now();
    let frame;
    try {
      frame = JSON.parse(msg.data);
    } catch {
      return;
    }
    switch (frame.type) {
      case 'welcome':
        this.welcomed(frame);
        break;
      case 'event':
        this.event(ws, frame);
        break;
      case 'media': {
        const { type, ...status } = frame;
        this.media = status;
        this.emit('media', status);
        break;
      }
      case 'talking': {
        // The live speaker's talking state and level (docs/protocol.md §19.6): staff and
        // the desk only; transient, never an event in the log.
        const { type, ...talking } = frame;
        this.talking = talking;
        this.emit('talking', talking);
        break;
      }
      case 'presence': {
        const { type, ...counts } = frame;
        this.model.presence = counts;
        this.emit('presence', counts);
        break;
      }
      case 'ack':
      case 'error':
        if (!this.live && frame.type === 'error') this.refused(ws, frame);
        else this.answered(frame);
        break;
      case 'pong':
        if (typeof frame.ts === 'number' && this.lastPing) {
          this.clockOffset = frame.ts - (this.lastPing + Date.now()) / 2;
        }
        break;
      case 'bye':
        this.bye = frame;
        break;
      default:
        break;
    }
  }

  welcomed(frame) {
    window.clearTimeout(this.timers.welcome);
    this.talking = null; // the hub sends the current one after `welcome` when someone is on air
    this.retryWithJoinToken = false;
    this.you = frame.you;
    this.identity = { join: this.identity.join, token: frame.you.token };
    if (this.persist) storageSet(`${this.storageKey}:id`, this.identity);
    if (typeof frame.ts === 'number') this.clockOffset = frame.ts - Date.now();
    const channels = frame.channels || {};
    const recovered = Object.keys(channels).length > 0
      && Object.values(channels).every((c) => c.recovered);
    if (recovered) {
      this.model.session = frame.session;
    } else {
      this.model.loadSnapshot(frame.session, frame.snapshot || {});
    }
    this.modelLite = this.lite;
    this.positions = {};
    for (const [name, pos] of Object.entries(channels)) {
      // `sig` is the server's signature of the position: a resume shows it back as proof.
      this.positions[name] = { epoch: pos.epoch, offset: pos.offset, sig: pos.sig };
    }
    this.model.presence = (frame.snapshot && frame.snapshot.presence) || this.model.presence;
    // The voice status until the `media` frame that follows (a hub without a media server
    // sends none: its welcome says `off`).
    const voice = frame.session && frame.session.voice;
    if (voice && (!this.media || voice.voice === 'off')) this.media = { ...voice };
    this.live = true;
    this.attempt = 0;
    this.stopReason = '';
    this.setState(ConnState.LIVE);
    this.emit('welcome', { recovered, you: frame.you });
    if (this.media) this.emit('media', this.media);
    this.saveSoon();
    this.flush(true);
  }

  event(ws, frame) {
    const pos = this.positions[frame.channel];
    if (!pos) return;
    const jumpAllowed = this.lite && frame.channel === 'public';
    if (frame.epoch !== pos.epoch || (frame.offset > pos.offset + 1 && !jumpAllowed)) {
      // A hole or a reset history: resume from what we have; the server fills it or resyncs.
      ws.close(CLOSE_RESYNC, 'resync');
      return;
    }
    if (frame.offset <= pos.offset) return; // already folded
    pos.offset = frame.offset;
    pos.sig = frame.sig;
    this.model.apply(frame.channel, frame.kind, frame.data, frame.ts);
    this.saveSoon();
    this.emit('update', { channel: frame.channel, kind: frame.kind, data: frame.data, ts: frame.ts });
  }

  refused(ws, frame) {
    // An error before `welcome` answers our hello.
    if (frame.code === 'unauthorized' && this.usedPersonalToken && this.identity.join) {
      // The personal token is no longer accepted (say, a reset server): join afresh.
      this.retryWithJoinToken = true;
      this.model.reset();
      this.positions = {};
      return; // the server closes; closed() reconnects at once
    }
    if (frame.field === 'name') {
      // The name was refused (hidden characters, a staff role...): the same hello would be
      // refused again, so wait for another name (or stop, on a page without a name form).
      ws.close(1000, 'refused');
      if (!this.nameForm) {
        this.fatal(frame.code, frame.message, frame.reason);
        return;
      }
      this.stopped = true;
      this.awaitingName = true;
      window.clearTimeout(this.timers.retry);
      this.setState(ConnState.OFFLINE);
      this.emit('name_refused', { code: frame.code, message: frame.message, reason: frame.reason });
      return;
    }
    if (TERMINAL_ERRORS.has(frame.code)) {
      this.fatal(frame.code, frame.message);
      ws.close(1000, 'refused');
      return;
    }
    ws.close(4000, 'retry'); // unavailable and friends: try again with backoff
  }

  closed(ws, ev) {
    if (ws !== this.ws) return;
    window.clearTimeout(this.timers.welcome);
    this.detach(ws);
    this.ws = null;
    const wasLive = this.live;
    this.live = false;
    for (const entry of this.outbox) entry.sent = false;
    if (this.stopped) return;
    const code = ev.code;
    const terminal = (this.bye && this.bye.reconnect === false)
      || (code >= 4500 && code <= 4999) || code === CLOSE_POLICY;
    if (terminal && !this.retryWithJoinToken) {
      const reason = (this.bye && this.bye.reason) || ev.reason || String(code);
      this.fatal(CLOSE_MEANING[code] || 'closed', reason);
      return;
    }
    if (this.retryWithJoinToken) {
      this.connect();
      return;
    }
    if (wasLive) this.attempt = 0;
    this.scheduleRetry(code === CLOSE_RESTART);
  }

  detach(ws) {
    ws.onopen = null;
    ws.onmessage = null;
    ws.onclose = null;
    ws.onerror = null;
  }

  scheduleRetry(restart = false) {
    if (this.stopped) return;
    this.setState(navigator.onLine ? ConnState.RECONNECTING : ConnState.OFFLINE);
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** this.attempt);
    // Full jitter on the upper half, so a restarted server is not hit by everyone at once.
    let delay = ceiling / 2 + Math.random() * (ceiling / 2);
    if (restart && this.attempt === 0) delay = Math.random() * 1000;
    this.attempt += 1;
    window.clearTimeout(this.timers.retry);
    this.timers.retry = window.setTimeout(() => this.connect(), delay);
  }

  reconnectSoon(delay) {
    if (this.stopped || this.live) return;
    // A socket still opening or waiting for `welcome` is already on its way.
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) return;
    window.clearTimeout(this.timers.retry);
    this.timers.retry = window.setTimeout(() => this.connect(), delay);
  }

  keepAlive() {
    if (!this.live || !this.ws) return;
    const now = Date.now();
    if (now - this.lastHeard > SILENCE_LIMIT_MS) {
      this.ws.close(4000, 'silent'); // a dead network path: reconnect
      return;
    }
    if (now - this.lastHeard > PING_EVERY_MS && now - this.lastPing > PING_EVERY_MS) {
      this.lastPing = now;
      this.ws.send(JSON.stringify({ type: 'ping', ref: 'ping' }));
    }
  }

  fatal(code, message, reason = undefined) {
    this.stopped = true;
    this.stopReason = message || code;
    window.clearTimeout(this.timers.retry);
    window.clearInterval(this.timers.ping);
    for (const entry of this.outbox.splice(0)) {
      if (entry.reject) entry.reject({ code: 'offline', message: this.stopReason });
    }
    this.outboxChanged();
    this.setState(ConnState.OFFLINE);
    this.emit('fatal', { code, message, reason });
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.emit('status', { state });
  }

  emit(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail }));
  }

  // ------------------------------------------------------------ outbox

  flush(afterWelcome = false) {
    for (const entry of this.outbox) {
      if (afterWelcome && entry.sent) entry.sent = false;
      if (!entry.sent) {
        entry.replay = entry.replay || afterWelcome;
        this.transmit(entry);
      }
    }
  }

  transmit(entry) {
    if (!this.live || !this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    entry.sent = true;
    this.ws.send(JSON.stringify({ ...entry.frame, ref: entry.ref }));
  }

  answered(frame) {
    const index = this.outbox.findIndex((e) => e.ref === frame.ref);
    if (index < 0) return;
    const entry = this.outbox[index];
    if (frame.type === 'error' && frame.code === 'unavailable' && entry.retryUnavailable) {
      // A backend is away: the same key or seq is safe to send again shortly.
      entry.sent = false;
      window.setTimeout(() => this.transmit(entry), 1000 + Math.random() * 2000);
      return;
    }
    this.outbox.splice(index, 1);
    this.outboxChanged();
    const replayedConflict = frame.type === 'error' && frame.code === 'conflict'
      && entry.replay && REPLAY_CONFLICT_OK.has(entry.frame.type);
    if (frame.type === 'ack' || replayedConflict) {
      if (entry.resolve) entry.resolve(frame);
      this.emit('ack', { frame: entry.frame, reply: frame });
    } else {
      if (entry.reject) entry.reject(frame);
      this.emit('failed', { frame: entry.frame, error: frame });
    }
  }

  outboxChanged() {
    if (this.persist) {
      const kept = this.outbox.filter((e) => e.persist).map((e) => ({ ref: e.ref, frame: e.frame }));
      storageSet(`${this.storageKey}:outbox`, kept.length ? kept : null);
    }
    this.emit('outbox', {});
  }

  // ------------------------------------------------------------ persistence

  restore() {
    const saved = storageGet(`${this.storageKey}:state`);
    if (saved && saved.model && saved.positions && this.identity.token) {
      this.model.restore(saved.model);
      this.positions = saved.positions;
      this.modelLite = Boolean(saved.lite);
    }
    const outbox = storageGet(`${this.storageKey}:outbox`) || [];
    for (const { ref, frame } of outbox) {
      this.outbox.push({ ref, frame, persist: true, sent: false, replay: true });
    }
  }

  saveSoon() {
    if (!this.persist || this.saveTimer) return;
    this.saveTimer = window.setTimeout(() => this.saveNow(), SAVE_DELAY_MS);
  }

  saveNow() {
    window.clearTimeout(this.saveTimer);
    this.saveTimer = 0;
    if (!this.persist || !this.model.session) return;
    // The model and the positions are written together: a reload resumes exactly here.
    storageSet(`${this.storageKey}:state`, { positions: this.positions, model: this.model.toJSON(),
      lite: this.modelLite });
  }

  forget() {
    for (const part of ['id', 'state', 'outbox']) storageSet(`${this.storageKey}:${part}`, null);
  }
}
