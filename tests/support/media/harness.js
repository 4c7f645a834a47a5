"use strict";
// The measurement page of the media tests (tests/support/media_netns.py drives it through
// Playwright). `window.media` publishes and receives audio through Janus with Debian's
// janus.js, and measures what a person would hear:
//
// - meters: every received track (and every sent one, named "<peer>:sent") goes through
//   a WebAudio AnalyserNode; its RMS is sampled every 5 ms with a timestamp in epoch
//   milliseconds (performance.timeOrigin + performance.now(), comparable across pages
//   and browsers of one machine). `getStats` audio levels stay 0 in headless Chromium,
//   which is why the page listens itself. Capture has echo cancellation, automatic gain
//   and noise suppression off: AGC would clip and reshape what is measured.
// - stats: getStats snapshots of a peer (inbound/outbound RTP and the selected candidate
//   pair) that tests/support/media_measure.py turns into bitrates.
// Tone onsets and latencies are computed from the level series in Python.

const media = (() => {
  const CAPTURE = {
    echoCancellation: false, autoGainControl: false, noiseSuppression: false, channelCount: 1,
  };
  const KEEP = 200 * 180;  // three minutes of 5 ms samples per meter
  const peers = new Map();  // name -> peer record
  const meters = new Map();  // name -> {analyser, buf, levels}
  let janus = null;
  let ctx = null;
  let ticker = null;

  const now = () => performance.timeOrigin + performance.now();

  function withTimeout(promise, ms, what) {
    let timer;
    const limit = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    });
    return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
  }

  function audioContext() {
    if (!ctx) ctx = new AudioContext({ latencyHint: "interactive", sampleRate: 48000 });
    if (ctx.state === "suspended") ctx.resume();
    return ctx;
  }

  function sample() {
    const t = now();
    for (const m of meters.values()) {
      m.analyser.getFloatTimeDomainData(m.buf);
      let sum = 0;
      for (let i = 0; i < m.buf.length; i++) sum += m.buf[i] * m.buf[i];
      m.levels.push([t, Math.sqrt(sum / m.buf.length)]);
      if (m.levels.length > KEEP + 2000) m.levels.splice(0, m.levels.length - KEEP);
    }
  }

  function meter(name, track, remote) {
    if (meters.has(name)) return;
    const stream = new MediaStream([track]);
    let element = null;
    if (remote) {
      // Chromium feeds a remote WebRTC track to WebAudio only while a media element
      // plays it; a muted element is enough.
      element = document.createElement("audio");
      element.muted = true;
      element.autoplay = true;
      element.srcObject = stream;
      document.getElementById("sinks").append(element);
      element.play().catch(() => {});
    }
    const c = audioContext();
    const source = c.createMediaStreamSource(stream);
    const analyser = c.createAnalyser();
    analyser.fftSize = 512;  // a 10.7 ms window at 48 kHz
    source.connect(analyser);
    meters.set(name, { analyser, source, element, buf: new Float32Array(512), levels: [] });
    if (!ticker) ticker = setInterval(sample, 5);
  }

  // `token`: a hub's grant (its Janus token), sent by janus.js in every request.
  function connect(server, apisecret, token) {
    return withTimeout(new Promise((resolve, reject) => {
      Janus.init({
        debug: false,
        callback: () => {
          janus = new Janus({
            server, apisecret, token, iceServers: [],  // no STUN, no TURN: host candidates only
            success: () => resolve(true),
            error: (e) => reject(new Error(`janus: ${e}`)),
          });
        },
      });
    }), 15000, "connect to Janus");
  }

  // A plugin handle with its messages queued, so a test can wait for the one it expects.
  function attach(plugin, name) {
    if (peers.has(name)) throw new Error(`peer ${name} exists already`);
    return withTimeout(new Promise((resolve, reject) => {
      const peer = { name, plugin, handle: null, messages: [], waiters: [], up: null };
      let setUp;
      peer.up = new Promise((ok) => { setUp = ok; });
      peer.next = (predicate, ms = 15000) => {
        const found = peer.messages.find(predicate);
        if (found) return Promise.resolve(found);
        return withTimeout(new Promise((ok) => peer.waiters.push({ predicate, ok })), ms,
          `${name}: expected message`);
      };
      janus.attach({
        plugin,
        success: (handle) => { peer.handle = handle; peers.set(name, peer); resolve(peer); },
        error: (e) => reject(new Error(`${name}: attach ${plugin}: ${e}`)),
        onmessage: (msg, jsep) => {
          const entry = { msg, jsep: jsep || null };
          peer.messages.push(entry);
          peer.waiters = peer.waiters.filter((w) => {
            if (!w.predicate(entry)) return true;
            w.ok(entry);
            return false;
          });
        },
        webrtcState: (on) => { if (on) setUp(true); },
        onlocaltrack: (track, on) => {
          if (on && track.kind === "audio") meter(`${name}:sent`, track, false);
        },
        onremotetrack: (track, mid, on) => {
          if (on && track.kind === "audio") meter(name, track, true);
        },
      });
    }), 15000, `attach ${plugin}`);
  }

  function offer(peer, tracks) {
    return withTimeout(new Promise((resolve, reject) => {
      peer.handle.createOffer({ tracks, success: resolve, error: (e) => reject(new Error(e)) });
    }), 15000, `${peer.name}: offer`);
  }

  function answer(peer, jsep, tracks) {
    return withTimeout(new Promise((resolve, reject) => {
      peer.handle.createAnswer({
        jsep, tracks, success: resolve, error: (e) => reject(new Error(e)),
      });
    }), 15000, `${peer.name}: answer`);
  }

  // Join an AudioBridge room; `speak`: publish the fake microphone, else listen only.
  // `extra`: more fields of the join request (record, filename...).
  async function bridge(name, room, speak, extra = {}) {
    const peer = await attach("janus.plugin.audiobridge", name);
    peer.handle.send({
      message: { request: "join", room, display: name, muted: true, ...extra },
    });
    // A refusal (a token the room does not allow, another id) is an event with an error.
    const joined = await peer.next((e) => e.msg.audiobridge === "joined" || e.msg.error);
    if (joined.msg.error) throw new Error(`${name}: join ${room}: ${joined.msg.error}`);
    const tracks = [{ type: "audio", capture: speak ? CAPTURE : false, recv: true }];
    const jsep = await offer(peer, tracks);
    peer.handle.send({ message: { request: "configure", muted: !speak }, jsep });
    const answered = await peer.next((e) => e.jsep && e.jsep.type === "answer");
    peer.handle.handleRemoteJsep({ jsep: answered.jsep });
    await withTimeout(peer.up, 15000, `${name}: ICE and DTLS with Janus`);
    return { name, sentAt: now() };
  }

  // `pin`: the mountpoint's pin, when it has one (a hub's listen grant gives it).
  async function stream(name, mountpoint, pin) {
    const peer = await attach("janus.plugin.streaming", name);
    const watch = { request: "watch", id: mountpoint };
    if (pin !== undefined && pin !== null) watch.pin = pin;
    peer.handle.send({ message: watch });
    const offered = await peer.next((e) => e.jsep || e.msg.error);
    if (offered.msg.error) throw new Error(`${name}: watch ${mountpoint}: ${offered.msg.error}`);
    const jsep = await answer(peer, offered.jsep, [{ type: "audio", capture: false, recv: true }]);
    peer.handle.send({ message: { request: "start" }, jsep });
    await withTimeout(peer.up, 15000, `${name}: ICE and DTLS with Janus`);
    return { name };
  }

  async function leave(name) {
    const peer = peers.get(name);
    if (!peer) throw new Error(`no peer ${name}`);
    await withTimeout(new Promise((resolve) => {
      peer.handle.detach({ success: resolve, error: resolve });
    }), 10000, `${name}: detach`);
    peers.delete(name);
    for (const key of [name, `${name}:sent`]) {
      const m = meters.get(key);
      if (m) { m.detached = now(); }
    }
    return now();
  }

  function levels(name, since = 0) {
    const m = meters.get(name);
    if (!m) return [];
    return m.levels.filter(([t]) => t > since);
  }

  // The level (RMS of the RMS samples) of each named meter since `since`: enough to
  // check that many listeners hear without shipping every series to the test.
  function loudness(names, since = 0) {
    return names.map((name) => {
      const values = levels(name, since).map(([, rms]) => rms);
      if (!values.length) return 0;
      return Math.sqrt(values.reduce((sum, v) => sum + v * v, 0) / values.length);
    });
  }

  function pick(report, keys) {
    if (!report) return null;
    const out = {};
    for (const k of keys) if (report[k] !== undefined) out[k] = report[k];
    return out;
  }

  async function stats(name) {
    const peer = peers.get(name);
    if (!peer || !peer.handle.webrtcStuff.pc) return null;
    const report = await peer.handle.webrtcStuff.pc.getStats();
    let inbound = null, outbound = null, transport = null;
    report.forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "audio") inbound = s;
      if (s.type === "outbound-rtp" && s.kind === "audio") outbound = s;
      if (s.type === "transport") transport = s;
    });
    const pair = transport ? report.get(transport.selectedCandidatePairId) : null;
    const local = pair ? report.get(pair.localCandidateId) : null;
    const remote = pair ? report.get(pair.remoteCandidateId) : null;
    const codec = inbound && inbound.codecId ? report.get(inbound.codecId) : null;
    return {
      t: now(),
      inbound: pick(inbound, ["bytesReceived", "headerBytesReceived", "packetsReceived",
        "packetsLost", "jitter", "jitterBufferDelay", "jitterBufferEmittedCount"]),
      outbound: pick(outbound, ["bytesSent", "headerBytesSent", "packetsSent"]),
      pair: pick(pair, ["bytesReceived", "bytesSent", "packetsReceived", "packetsSent",
        "currentRoundTripTime"]),
      local: pick(local, ["address", "port", "protocol", "candidateType"]),
      remote: pick(remote, ["address", "port", "protocol", "candidateType"]),
      codec: pick(codec, ["mimeType", "clockRate", "channels", "sdpFmtpLine"]),
    };
  }

  async function statsAll(names) {
    return Promise.all(names.map((n) => stats(n)));
  }

  return { connect, bridge, stream, leave, levels, loudness, stats, statsAll, now, peers, meters };
})();
window.media = media;
