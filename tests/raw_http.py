"""HTTP/1.1 over a bare socket, for what a well-behaved client never sends: bytes no encoding allows in a header or
a query, bodies that lie about their length, arrive slowly, or never end."""

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class RawAnswer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


def request(method: str, path: str | bytes, headers: Mapping[str, str | bytes], body: bytes = b"") -> bytes:
    """A request exactly as given: only Host, Connection: close and (unless the headers frame the body themselves)
    the body's Content-Length are added."""
    target = path if isinstance(path, bytes) else path.encode()
    lines = [method.encode() + b" " + target + b" HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close"]
    framed = {name.lower() for name in headers} & {"content-length", "transfer-encoding"}
    if body and not framed:
        lines.append(b"Content-Length: " + str(len(body)).encode())
    for name, value in headers.items():
        lines.append(name.encode() + b": " + (value if isinstance(value, bytes) else value.encode()))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


async def connect(base_url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    url = urlsplit(base_url)
    return await asyncio.open_connection(url.hostname, url.port)


async def read_answer(reader: asyncio.StreamReader) -> RawAnswer:
    """The response on this connection, as soon as it is complete (the server may go on reading what we send)."""
    async with asyncio.timeout(15):
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = headers.get("content-length")
        body = await (reader.readexactly(int(length)) if length is not None else reader.read())
    return RawAnswer(int(status_line.split()[1]), headers, body)


async def send(base_url: str, data: bytes) -> RawAnswer:
    reader, writer = await connect(base_url)
    try:
        writer.write(data)
        await writer.drain()
        return await read_answer(reader)
    finally:
        writer.close()
