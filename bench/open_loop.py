"""`python -m bench.open_loop PLAN.json`: an open-loop load generator in its own process. It sends the plan's
pre-signed requests at a fixed rate, each at its scheduled time whatever the earlier ones are doing (so a slow
server meets the full rate, as with real users), and receives the late answers on its own response_url server.
Latencies count from the scheduled time. Prints one JSON object: counts, latencies and each write's outcome.

The plan: {"url", "rate", "seconds", "port" (of the response_url receiver), "requests": file of JSON lines
{"kind", "key", "reply", "body", "signature", "timestamp", "content_type"}}.
"""

import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

WORKING = "Working on it"
BUSY = "Shipmate is busy"


@dataclass
class Outcome:
    kind: str
    key: str
    status: int = 0
    acked_ms: float = float("nan")
    answered_ms: float = float("nan")
    answer: str = ""  # the answer's text (ack body or response_url), first 200 characters
    late: bool = False  # the ack said "Working on it…"; the answer came on response_url


@dataclass
class Receiver:
    """The response_url side: each late answer resolves the future its request waits on."""

    waiting: dict[str, asyncio.Future[tuple[float, str]]] = field(default_factory=dict)

    async def respond(self, request: web.Request) -> web.Response:
        body = await request.json()
        future = self.waiting.pop(request.match_info["key"], None)
        if future is not None and not future.done():
            future.set_result((time.perf_counter(), str(body.get("text", ""))[:200]))
        return web.Response(text="ok")


class Connection(asyncio.Protocol):
    """A keep-alive HTTP/1.1 connection that sends prebuilt requests and reads `Content-Length` answers: a tenth
    of a client library's cost per request, so the generator keeps its schedule at flood rates on 2 cores."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiting: asyncio.Future[tuple[int, bytes]] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiting is not None and not self.waiting.done():
            self.waiting.set_exception(ConnectionError("connection closed"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.waiting is None:
            return
        head = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        length = next((int(h.split(":", 1)[1]) for h in head if h.lower().startswith("content-length:")), 0)
        if len(self.buffer) < end + 4 + length:
            return
        body = bytes(self.buffer[end + 4 : end + 4 + length])
        del self.buffer[: end + 4 + length]
        if not self.waiting.done():
            self.waiting.set_result((int(head[0].split()[1]), body))

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        assert self.transport is not None
        self.waiting = asyncio.get_running_loop().create_future()
        self.transport.write(raw)
        return await self.waiting


class Pool:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.idle: list[Connection] = []
        self.opened = 0

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        while self.idle and self.idle[-1].closed:
            self.idle.pop()
        if self.idle:
            connection = self.idle.pop()
        else:
            _, connection = await asyncio.get_running_loop().create_connection(Connection, self.host, self.port)
            self.opened += 1
        status, body = await connection.request(raw)
        if not connection.closed:
            self.idle.append(connection)
        return status, body


def prebuilt(url: str, line: dict[str, Any]) -> bytes:
    parts = urlsplit(url)
    body = line["body"].encode()
    head = (
        f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: {line['content_type']}\r\n"
        f"X-Slack-Request-Timestamp: {line['timestamp']}\r\nX-Slack-Signature: {line['signature']}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def pct(values: list[float], q: float) -> float:
    ordered = sorted(v for v in values if v == v)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def run(plan: dict[str, Any], lines: list[dict[str, Any]]) -> dict[str, Any]:
    rate, seconds = float(plan["rate"]), float(plan["seconds"])
    total = min(len(lines), int(rate * seconds))
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/respond/{key}", receiver.respond)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", int(plan["port"])).start()
    outcomes: list[Outcome] = []
    behind = 0

    async def send(pool: Pool, line: dict[str, Any], raw: bytes, at: float) -> None:
        outcome = Outcome(line["kind"], line.get("key", ""))
        outcomes.append(outcome)
        future: asyncio.Future[tuple[float, str]] = asyncio.get_running_loop().create_future()
        if line.get("reply"):
            receiver.waiting[line["reply"]] = future
        try:
            async with asyncio.timeout(30):
                outcome.status, raw_answer = await pool.request(raw)
            text = raw_answer.decode()
        except (OSError, TimeoutError) as exc:
            outcome.answer = f"client error: {type(exc).__name__}"
            return
        finally:
            outcome.acked_ms = (time.perf_counter() - at) * 1000
        shown = _text(text)
        if WORKING in shown:
            outcome.late = True
            try:
                arrived, shown = await asyncio.wait_for(future, 60)
            except TimeoutError:
                outcome.answer = "no answer on response_url within 60 s"
                return
            outcome.answered_ms = (arrived - at) * 1000
        else:
            receiver.waiting.pop(line.get("reply", ""), None)
            outcome.answered_ms = outcome.acked_ms
        outcome.answer = shown[:200]

    parts = urlsplit(plan["url"])
    pool = Pool(parts.hostname or "127.0.0.1", parts.port or 80)
    raws = [prebuilt(plan["url"], line) for line in lines[:total]]
    tasks = []
    start = time.perf_counter() + 0.2
    for i in range(total):
        at = start + i / rate
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.005:
            behind += 1
        tasks.append(asyncio.create_task(send(pool, lines[i], raws[i], at)))
    sent_in = time.perf_counter() - start
    await asyncio.gather(*tasks)
    await runner.cleanup()
    result = summarise(outcomes, sent_in, behind)
    result["connections"] = pool.opened
    return result


def _text(body: str) -> str:
    try:
        parsed = json.loads(body)
    except ValueError:
        return body
    if isinstance(parsed, dict):
        return str(parsed.get("text") or parsed.get("errors") or parsed.get("error") or "")
    return body


def summarise(outcomes: list[Outcome], sent_in: float, behind: int) -> dict[str, Any]:
    busy = [o for o in outcomes if BUSY in o.answer]
    answered = [o for o in outcomes if o.status == 200 and BUSY not in o.answer and o.answered_ms == o.answered_ms]
    by_kind: dict[str, dict[str, float]] = {}
    for kind in sorted({o.kind for o in answered}):
        of = [o.answered_ms for o in answered if o.kind == kind]
        by_kind[kind] = {"count": len(of), "p50_ms": pct(of, 0.5), "p99_ms": pct(of, 0.99)}
    return {
        "sent": len(outcomes),
        "sent_rate": len(outcomes) / sent_in if sent_in else 0.0,
        "sent_behind_schedule": behind,
        "answered": len(answered),
        "answered_late": sum(o.late for o in answered),
        "told_busy": len(busy),
        "status_5xx": sum(o.status >= 500 for o in outcomes),
        "status_other": sum(o.status not in (200,) and o.status < 500 for o in outcomes),
        "unanswered": len(outcomes) - len(answered) - len(busy),
        "ack_p50_ms": pct([o.acked_ms for o in outcomes], 0.5),
        "ack_p99_ms": pct([o.acked_ms for o in outcomes], 0.99),
        "answer_p50_ms": pct([o.answered_ms for o in answered], 0.5),
        "answer_p99_ms": pct([o.answered_ms for o in answered], 0.99),
        "by_kind": by_kind,
        "writes": [
            {"kind": o.kind, "key": o.key, "answer": o.answer, "status": o.status}
            for o in outcomes
            if o.kind in ("propose", "approve")
        ],
    }


def main() -> None:
    plan = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    lines = [json.loads(line) for line in Path(plan["requests"]).read_text(encoding="utf-8").splitlines()]
    print(json.dumps(asyncio.run(run(plan, lines))))


if __name__ == "__main__":
    main()
