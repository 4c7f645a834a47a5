"""Peer for bench/run.py: the usual Python choice, python-socketio + AsyncRedisManager on aiohttp.

Readers emit "hello" {room} and get "welcome"; the publisher emits "caption" {text, seq}
with an ack; the server emits it to the room through the Redis manager (every instance,
this one included, gets it from Redis pub/sub and writes it to its local readers) and
acks the publisher. Loopback only.

    .venv/bin/python bench/peers/socketio_py.py --port 9001 --redis redis://127.0.0.1:6379 \
        --channel bench-pysio-123
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import Any

import socketio
from aiohttp import web


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379")
    parser.add_argument("--channel", default="bench-pysio")
    args = parser.parse_args()

    manager = socketio.AsyncRedisManager(args.redis, channel=args.channel)
    sio = socketio.AsyncServer(async_mode="aiohttp", client_manager=manager,
                               transports=["websocket"], cors_allowed_origins="*",
                               http_compression=False, compression_threshold=1 << 30)
    app = web.Application()
    sio.attach(app)
    state = {"seq": 0}

    @sio.on("hello")  # type: ignore[misc]
    async def hello(sid: str, msg: dict[str, Any]) -> None:
        room = (msg or {}).get("room", "bench")
        await sio.enter_room(sid, room)
        await sio.emit("welcome", {"room": room, "sid": sid, "offset": state["seq"]}, to=sid)

    @sio.on("caption")  # type: ignore[misc]
    async def caption(sid: str, msg: dict[str, Any]) -> dict[str, Any]:
        room = (msg or {}).get("room", "bench")
        state["seq"] += 1
        await sio.emit("caption", {"text": msg["text"], "seq": msg.get("seq")}, room=room)
        return {"ok": True, "seq": msg.get("seq")}

    async def serve() -> None:
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", args.port, backlog=4096)
        await site.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        print(f"python-socketio peer ready on {args.port}", flush=True)
        await stop.wait()
        await runner.cleanup()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
