// Peer for bench/run.py: the usual Node choice, socket.io 4 + @socket.io/redis-adapter.
//
// Readers emit "hello" {room} and get "welcome"; the publisher emits "caption" {text, seq}
// with an ack; the server broadcasts it to the room through the Redis adapter (other
// instances get it over Redis pub/sub) and acks the publisher. Loopback only.
//
//   node server.js --port 9000 --redis redis://127.0.0.1:6379 --key bench-sio-123

"use strict";
const http = require("http");
const { Server } = require("socket.io");
const { createClient } = require("redis");
const { createAdapter } = require("@socket.io/redis-adapter");

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

async function main() {
  const port = Number(arg("port", "9000"));
  const redisUrl = arg("redis", "redis://127.0.0.1:6379");
  const key = arg("key", "bench-sio");
  const httpServer = http.createServer((req, res) => { res.writeHead(404); res.end(); });
  const io = new Server(httpServer, {
    transports: ["websocket"],
    serveClient: false,
    perMessageDeflate: false,
    httpCompression: false,
    maxHttpBufferSize: 1e6,
  });
  const pub = createClient({ url: redisUrl });
  const sub = pub.duplicate();
  pub.on("error", (e) => console.error("redis pub", e.message));
  sub.on("error", (e) => console.error("redis sub", e.message));
  await Promise.all([pub.connect(), sub.connect()]);
  io.adapter(createAdapter(pub, sub, { key }));

  let seq = 0;
  io.on("connection", (socket) => {
    socket.on("hello", (msg) => {
      const room = (msg && msg.room) || "bench";
      socket.join(room);
      socket.emit("welcome", { room, sid: socket.id, offset: seq });
    });
    socket.on("caption", (msg, ack) => {
      const room = (msg && msg.room) || "bench";
      seq += 1;
      io.to(room).emit("caption", { text: msg.text, seq: msg.seq });
      if (typeof ack === "function") ack({ ok: true, seq: msg.seq });
    });
  });

  httpServer.listen({ port, host: "127.0.0.1", backlog: 4096 }, () => {
    console.log(`socket.io peer ready on ${port}`);
  });
  const stop = () => {
    io.close();
    Promise.allSettled([pub.quit(), sub.quit()]).finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((e) => { console.error(e); process.exit(1); });
