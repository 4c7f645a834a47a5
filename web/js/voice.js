// Voice through Janus (docs/protocol.md §19): one link per use, with Debian's janus.js
// (served by the hub at /media-lib/, loaded only when voice is on).
//
// - listen: the session's Streaming mountpoint (audio only), played in an <audio> element.
// - speak: the AudioBridge room with the grant's token and participant id, publishing the
//   microphone (echo cancellation, noise suppression and gain control on: real use).
// - desk: the same room, publishing the chosen input (the mixer's output, processing off:
//   it is already a mix) and playing the room's mix-minus into the chosen output.
//
// A link asks the hub for a grant (`media`), opens a Janus session, and keeps itself up:
// a `media` frame with a new `run` (the media server restarted), an ICE failure, a hang-up
// or a lost Janus session make it ask for a new grant and join again, with backoff. A
// refusal that asking again cannot change (voice off, not your turn, the microphone
// refused by the browser, another desk) stops it in the `refused` state with a reason.

export const VoiceState = Object.freeze({
  OFF: 'off', // not started, or stopped
  CONNECTING: 'connecting', // asking for a grant, joining
  LISTENING: 'listening', // listen: the room's sound plays
  LIVE: 'live', // speak, desk: the input is published
  RECONNECTING: 'reconnecting', // lost; trying again with backoff
  REFUSED: 'refused', // the hub, Janus or the browser said no: `reason` says why
  FAILED: 'failed', // something unexpected (the library missing...): `reason`
});

const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 20000;
const STEP_TIMEOUT_MS = 15000;
const REFRESH_BEFORE_MS = 60000;
// Refusals of `media` that asking again would not change (docs/protocol.md §19.2).
const FINAL_REASONS = new Set(['voice_off', 'not_your_turn', 'cut', 'closed', 'desk_active']);

/**
 * The voice status of this page's hub: 'on', 'down' or 'off' (with `reason`, `run`). A hub
 * without janus.js installed counts as off for the pages (`library: false`).
 */
export function voiceStatus(client, rerender = null) {
  const media = client.media;
  if (!media || !media.voice) return { voice: 'off', reason: '', run: null };
  if (media.voice !== 'off' && libraryInstalled(rerender) === false) {
    return { voice: 'off', reason: 'no_library', run: null, library: false };
  }
  return media;
}

/**
 * True on a hub's relay. Its pages use the meeting's voice: grants come through the room's
 * link, signalling through the relay's /janus, the audio directly from the meeting's Janus.
 */
export const onRelay = (client) => Boolean(client.model.relay);

/** True on a relay whose link to the meeting is down (its voice is down with it). */
export const relayDown = (client) => Boolean(client.model.relay && client.model.relay.connected === false);

let loading = null;
let library = null; // null: not checked yet; then a promise of true (installed) or false

/**
 * Whether this hub serves janus.js (Debian's libjs-janus-gateway): checked once, when a
 * page first sees voice on; `then` runs when the answer is known (to render again).
 * Returns true, false, or null while unknown.
 */
export function libraryInstalled(then) {
  if (library === null) {
    library = { known: null };
    fetch('/media-lib/janus.js', { method: 'HEAD', cache: 'no-store' })
      .then((response) => { library.known = response.ok; }, () => { library.known = true; })
      .finally(() => { for (const fn of library.waiting) fn(); library.waiting = []; });
    library.waiting = [];
  }
  if (library.known === null && then) library.waiting.push(then);
  return library.known;
}

function script(src) {
  return new Promise((resolve, reject) => {
    const el = document.createElement('script');
    el.src = src;
    el.async = false;
    el.onload = resolve;
    el.onerror = () => reject(Object.assign(new Error(`${src} is not installed on this hub`),
      { reason: 'no_library' }));
    document.head.append(el);
  });
}

/** janus.js and its WebRTC adapter, loaded once; resolves with the initialised `Janus`. */
export function loadJanus() {
  if (!loading) {
    loading = (async () => {
      if (!window.Janus) {
        if (!window.adapter) await script('/media-lib/adapter.js');
        await script('/media-lib/janus.js');
      }
      if (!window.Janus) throw Object.assign(new Error('janus.js did not load'), { reason: 'no_library' });
      await new Promise((resolve) => window.Janus.init({ debug: false, callback: resolve }));
      return window.Janus;
    })();
    loading.catch(() => { loading = null; });
  }
  return loading;
}

function withTimeout(promise, what) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = window.setTimeout(() => reject(Object.assign(new Error(`${what}: no answer`),
      { reason: 'timeout' })), STEP_TIMEOUT_MS);
  });
  return Promise.race([promise, limit]).finally(() => window.clearTimeout(timer));
}

let audioContext = null;
function sharedContext() {
  if (!audioContext) audioContext = new AudioContext();
  if (audioContext.state === 'suspended') audioContext.resume().catch(() => {});
  return audioContext;
}

/** A level meter of one audio track: `level()` is its RMS now, 0 to 1. */
export class TrackMeter {
  constructor(track) {
    const ctx = sharedContext();
    this.source = ctx.createMediaStreamSource(new MediaStream([track]));
    this.analyser = ctx.createAnalyser();
    this.analyser.fftSize = 1024;
    this.buf = new Float32Array(this.analyser.fftSize);
    this.source.connect(this.analyser);
  }

  level() {
    this.analyser.getFloatTimeDomainData(this.buf);
    let sum = 0;
    for (let i = 0; i < this.buf.length; i += 1) sum += this.buf[i] * this.buf[i];
    return Math.sqrt(sum / this.buf.length);
  }

  close() {
    try { this.source.disconnect(); } catch { /* already disconnected */ }
  }
}

/** A 0-100 value for a <meter>: RMS on a logarithmic scale (-60 dBFS to 0). */
export function meterValue(rms) {
  if (!rms || rms <= 0.001) return 0;
  return Math.max(0, Math.min(100, Math.round(((20 * Math.log10(rms)) + 60) * (100 / 60))));
}

/** True when this browser can play into a chosen output device. */
export const canPickOutput = () => typeof HTMLMediaElement !== 'undefined'
  && 'setSinkId' in HTMLMediaElement.prototype;

/**
 * One use of voice. Events: `state` ({state, reason, message}), `tracks` (a meter appeared
 * or went away), `grant` ({grant}: the hub's answer, for the desk's and speaker's pages).
 */
export class VoiceLink extends EventTarget {
  /**
   * `client`: the page's HubClient; `want`: 'listen', 'speak' or 'desk'; options:
   * `audio` (the <audio> element that plays what is received), `inputId` (a device id to
   * publish), `outputId` (a device id to play into), `volume` (0-1).
   */
  constructor(client, want, options = {}) {
    super();
    this.client = client;
    this.want = want;
    this.options = { volume: 1, ...options };
    this.audio = options.audio || document.createElement('audio');
    this.audio.autoplay = true;
    this.state = VoiceState.OFF;
    this.reason = '';
    this.message = '';
    this.active = false;
    this.gen = 0;
    this.attempt = 0;
    this.run = null;
    this.janus = null;
    this.handle = null;
    this.timer = 0;
    this.refreshTimer = 0;
    this.takeOver = false;
    this.meters = { local: null, remote: null };
    client.addEventListener('media', (ev) => this.onMedia(ev.detail));
  }

  get running() {
    return this.active;
  }

  /** Start (from a click: the browser then lets the page play and capture). */
  start({ takeOver = false, ...options } = {}) {
    Object.assign(this.options, options);
    this.takeOver = takeOver;
    this.active = true;
    this.attempt = 0;
    sharedContext();
    this.audio.play().catch(() => { /* nothing to play yet */ });
    this.connect(VoiceState.CONNECTING);
  }

  /** Stop for good (until `start` again): leave Janus, release the microphone. */
  stop() {
    this.active = false;
    this.teardown();
    this.setState(VoiceState.OFF);
  }

  setVolume(value) {
    this.options.volume = value;
    this.audio.volume = Math.max(0, Math.min(1, value));
  }

  /** Silence what this page plays (the desk's loudspeaker feed), or play it again. */
  setPlaybackMuted(muted) {
    this.audio.muted = muted;
  }

  /** Play into another output device (where the browser can). */
  async setOutput(deviceId) {
    this.options.outputId = deviceId;
    if (canPickOutput() && deviceId !== undefined) await this.audio.setSinkId(deviceId || '');
  }

  level(which) {
    const meter = this.meters[which];
    return meter ? meter.level() : 0;
  }

  // ------------------------------------------------------------ internals

  setState(state, reason = '', message = '') {
    if (state === this.state && reason === this.reason) return;
    this.state = state;
    this.reason = reason;
    this.message = message;
    this.dispatchEvent(new CustomEvent('state', { detail: { state, reason, message } }));
  }

  onMedia(status) {
    if (!this.active) return;
    if (status.voice === 'off') {
      this.teardown();
      this.active = false;
      this.setState(VoiceState.REFUSED, 'voice_off');
    } else if (status.voice === 'down') {
      // The media server is away: wait for the frame that says it is back.
      this.teardown();
      this.setState(VoiceState.RECONNECTING, 'voice_down');
    } else if (status.run && this.run && status.run !== this.run) {
      // A media reset: the rooms were made again; the old Janus session is gone.
      this.teardown();
      this.attempt = 0;
      this.connect(VoiceState.RECONNECTING);
    } else if (this.state === VoiceState.RECONNECTING && this.reason === 'voice_down') {
      this.attempt = 0;
      this.connect(VoiceState.RECONNECTING);
    }
  }

  async connect(state) {
    window.clearTimeout(this.timer);
    this.teardown();
    const gen = this.gen;
    this.setState(state, state === VoiceState.RECONNECTING ? this.reason : '');
    const fields = { want: this.want };
    if (this.want === 'desk' && this.takeOver) fields.take_over = true;
    let grant;
    try {
      grant = await this.client.send('media', fields, { retryUnavailable: false });
    } catch (error) {
      if (gen === this.gen && this.active) this.refused(error);
      return;
    }
    if (gen !== this.gen || !this.active) return;
    this.takeOver = false; // taken: a reconnection asks for it as its holder
    this.run = grant.run;
    this.dispatchEvent(new CustomEvent('grant', { detail: { grant } }));
    this.scheduleRefresh(grant);
    try {
      await this.open(grant, gen);
    } catch (error) {
      if (gen !== this.gen || !this.active) return;
      const name = error && error.name;
      if (name === 'NotAllowedError' || name === 'SecurityError') {
        this.teardown();
        this.active = false;
        this.setState(VoiceState.REFUSED, 'mic_denied');
      } else if (name === 'NotFoundError' || name === 'OverconstrainedError') {
        this.teardown();
        this.active = false;
        this.setState(VoiceState.REFUSED, 'mic_missing');
      } else if (error && error.reason === 'no_library') {
        this.teardown();
        this.active = false;
        this.setState(VoiceState.FAILED, 'no_library');
      } else {
        this.retry('media_error');
      }
    }
  }

  refused(error) {
    if (this.client.stopped) {
      // The page's connection ended for good (removed, link retired): nothing to ask.
      this.active = false;
      this.teardown();
      this.setState(VoiceState.FAILED, 'offline');
      return;
    }
    const code = error && error.code;
    const reason = (error && error.reason) || code || 'error';
    if (code === 'unavailable' && reason === 'voice_down') {
      this.setState(VoiceState.RECONNECTING, 'voice_down');
      this.timer = window.setTimeout(() => this.connect(VoiceState.RECONNECTING), this.backoff());
    } else if (FINAL_REASONS.has(reason) || code === 'forbidden') {
      this.active = false;
      this.setState(VoiceState.REFUSED, reason, (error && error.message) || '');
    } else {
      this.retry(reason); // offline, rate_limited...: try again later
    }
  }

  backoff() {
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** this.attempt);
    this.attempt += 1;
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  retry(reason) {
    if (!this.active) return;
    this.teardown();
    this.setState(VoiceState.RECONNECTING, reason);
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => this.connect(VoiceState.RECONNECTING), this.backoff());
  }

  scheduleRefresh(grant) {
    window.clearTimeout(this.refreshTimer);
    if (!grant.expires) return;
    const wait = grant.expires - this.client.serverNow() - REFRESH_BEFORE_MS;
    // A grant near its end is asked for again; setTimeout cannot wait longer than ~24 days.
    this.refreshTimer = window.setTimeout(() => {
      if (this.active) this.connect(VoiceState.RECONNECTING);
    }, Math.max(1000, Math.min(wait, 2 ** 31 - 1)));
  }

  lost(gen, why) {
    if (gen !== this.gen || !this.active) return;
    this.retry(why);
  }

  up(gen) {
    if (gen !== this.gen || !this.active) return;
    this.attempt = 0;
    this.setState(this.want === 'listen' ? VoiceState.LISTENING : VoiceState.LIVE);
  }

  teardown() {
    this.gen += 1; // callbacks of what is torn down are ignored from now on
    window.clearTimeout(this.timer);
    const { janus } = this;
    this.janus = null;
    this.handle = null;
    for (const which of ['local', 'remote']) {
      if (this.meters[which]) this.meters[which].close();
      this.meters[which] = null;
    }
    this.audio.srcObject = null;
    if (janus) {
      try {
        janus.destroy({ cleanupHandles: true, notifyDestroyed: false });
      } catch { /* a session already gone */ }
    }
    this.dispatchEvent(new CustomEvent('tracks'));
  }

  async open(grant, gen) {
    const Janus = await loadJanus();
    if (gen !== this.gen) return;
    let settled = false;
    await withTimeout(new Promise((resolve, reject) => {
      this.janus = new Janus({
        server: grant.janus,
        token: grant.token,
        iceServers: grant.ice_servers || [],
        success: () => { settled = true; resolve(); },
        error: (e) => {
          if (!settled) reject(Object.assign(new Error(String(e)), { reason: 'janus' }));
          else this.lost(gen, 'janus_lost');
        },
        destroyed: () => {},
      });
    }), 'Janus session');
    if (gen !== this.gen) return;
    const listen = this.want === 'listen';
    let answered = null;
    const messages = [];
    let waiter = null;
    const next = (predicate) => withTimeout(new Promise((resolve) => {
      const found = messages.find(predicate);
      if (found) resolve(found);
      else waiter = { predicate, resolve };
    }), 'Janus plugin');
    this.handle = await withTimeout(new Promise((resolve, reject) => {
      this.janus.attach({
        plugin: listen ? 'janus.plugin.streaming' : 'janus.plugin.audiobridge',
        success: resolve,
        error: (e) => reject(Object.assign(new Error(String(e)), { reason: 'janus' })),
        onmessage: (msg, jsep) => {
          if (gen !== this.gen) return;
          const entry = { msg: msg || {}, jsep: jsep || null };
          // The room's talking detection (on for the hub: hub/media/levels.py) tells every
          // participant; nothing here waits for it, so it is not kept.
          if (['talking', 'stopped-talking'].includes(entry.msg.audiobridge)) return;
          if (entry.msg.error && answered) {
            this.lost(gen, 'janus_error');
            return;
          }
          messages.push(entry);
          if (waiter && waiter.predicate(entry)) {
            const w = waiter;
            waiter = null;
            w.resolve(entry);
          }
        },
        iceState: (state) => { if (state === 'failed') this.lost(gen, 'ice_failed'); },
        webrtcState: (on) => { if (on) this.up(gen); else this.lost(gen, 'hangup'); },
        onlocaltrack: (track, on) => {
          if (gen !== this.gen || track.kind !== 'audio') return;
          this.meter('local', on ? track : null);
        },
        onremotetrack: (track, mid, on) => {
          if (gen !== this.gen || track.kind !== 'audio') return;
          if (on) {
            this.audio.srcObject = new MediaStream([track]);
            this.audio.volume = this.options.volume;
            if (this.options.outputId && canPickOutput()) {
              this.audio.setSinkId(this.options.outputId).catch(() => {});
            }
            this.audio.play().catch(() => {});
          }
          this.meter('remote', on ? track : null);
        },
        oncleanup: () => {},
      });
    }), 'Janus attach');
    if (gen !== this.gen) return;
    const handle = this.handle;
    const fail = (entry) => Object.assign(new Error(entry.msg.error || 'refused'),
      { reason: 'janus', code: entry.msg.error_code });
    if (listen) {
      handle.send({ message: { request: 'watch', id: grant.mountpoint, pin: grant.pin,
        offer_audio: true, offer_video: false, offer_data: false } });
      const offered = await next((e) => e.jsep || e.msg.error);
      if (offered.msg.error) throw fail(offered);
      const jsep = await withTimeout(new Promise((resolve, reject) => {
        handle.createAnswer({ jsep: offered.jsep, tracks: [{ type: 'audio', capture: false, recv: true }],
          success: resolve, error: reject });
      }), 'WebRTC answer');
      if (gen !== this.gen) return;
      answered = true;
      handle.send({ message: { request: 'start' }, jsep });
      return;
    }
    handle.send({ message: { request: 'join', room: grant.room, id: grant.id, display: grant.display,
      token: grant.token, muted: true } });
    const joined = await next((e) => e.msg.audiobridge === 'joined' || e.msg.error);
    if (joined.msg.error) throw fail(joined);
    const capture = this.want === 'desk'
      ? { echoCancellation: false, noiseSuppression: false, autoGainControl: false }
      : { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
    if (this.options.inputId) capture.deviceId = { exact: this.options.inputId };
    capture.channelCount = 1;
    const jsep = await new Promise((resolve, reject) => {
      // No timeout here: the browser may be waiting for the person to allow the microphone.
      handle.createOffer({ tracks: [{ type: 'audio', capture, recv: true }], success: resolve, error: reject });
    });
    if (gen !== this.gen) return;
    handle.send({ message: { request: 'configure', muted: false }, jsep });
    const answer = await next((e) => (e.jsep && e.jsep.type === 'answer') || e.msg.error);
    if (answer.msg.error) throw fail(answer);
    answered = true;
    handle.handleRemoteJsep({ jsep: answer.jsep });
  }

  meter(which, track) {
    if (this.meters[which]) this.meters[which].close();
    this.meters[which] = track ? new TrackMeter(track) : null;
    this.dispatchEvent(new CustomEvent('tracks'));
  }
}
