"""Slack's external file upload flow for the fake Web API (what slack_sdk's `files_upload_v2` does):
`files.getUploadURLExternal` (filename, length) answers an upload URL and a file id; the bytes are POSTed to that
URL (Slack answers 200); then `files.completeUploadExternal` (files=[{"id", "title"}], optional channel_id)
finishes it. Errors are Slack's shape (HTTP 200, ok false)."""

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

TEAM_ID = "T0TEAM"
BOT_USER_ID = "U0BOT"


@dataclass
class Upload:
    filename: str
    length: int
    alt_txt: str | None = None
    data: bytes | None = None
    title: str | None = None
    completed: bool = False


class FileUploads:
    """Mixed into `FakeSlack`, whose fields these are."""

    files: dict[str, Upload]
    server: TestServer | None
    _record_call: Callable[[str, dict[str, Any]], Awaitable[None]]
    _fault: Callable[[str, str], Any]

    def completed_files(self) -> dict[str, Upload]:
        return {file_id: upload for file_id, upload in self.files.items() if upload.completed}

    async def _files(self, method: str, params: dict[str, Any]) -> web.Response:
        """The external upload flow; errors are Slack's shape (HTTP 200, ok false)."""
        if method == "files.getUploadURLExternal":
            length = str(params.get("length", ""))
            if not params.get("filename") or not length.isdigit() or int(length) <= 0:
                return web.json_response({"ok": False, "error": "invalid_arguments"})
            file_id = f"F0{len(self.files) + 1:08d}"
            self.files[file_id] = Upload(str(params["filename"]), int(length), params.get("alt_txt"))
            await self._record_call(method, params)
            assert self.server is not None
            url = str(self.server.make_url(f"/upload/{file_id}"))
            return web.json_response({"ok": True, "upload_url": url, "file_id": file_id})
        if method == "files.completeUploadExternal":
            try:
                wanted = json.loads(str(params.get("files", "")))
            except json.JSONDecodeError:
                return web.json_response({"ok": False, "error": "invalid_arguments"})
            finished = []
            for entry in wanted:
                upload = self.files.get(str(entry.get("id")))
                if upload is None or upload.data is None:
                    return web.json_response({"ok": False, "error": "file_not_found"})
                upload.completed, upload.title = True, entry.get("title") or upload.filename
                finished.append(self._file_object(str(entry["id"]), upload, params.get("channel_id")))
            await self._record_call(method, params)
            return web.json_response({"ok": True, "files": finished})
        return web.json_response({"ok": False, "error": "unknown_method"})

    def _file_object(self, file_id: str, upload: Upload, channel: str | None) -> dict[str, Any]:
        assert upload.data is not None
        png = upload.data.startswith(b"\x89PNG\r\n\x1a\n")
        return {
            "id": file_id,
            "name": upload.filename,
            "title": upload.title,
            "mimetype": "image/png" if png else "application/octet-stream",
            "filetype": "png" if png else "binary",
            "size": len(upload.data),
            "alt_txt": upload.alt_txt,
            "url_private": f"https://files.slack.com/files-pri/{TEAM_ID}-{file_id}/{upload.filename}",
            "permalink": f"https://test.slack.com/files/{BOT_USER_ID}/{file_id}/{upload.filename}",
            "channels": [channel] if channel else [],
            "is_public": False,
        }

    async def _upload(self, request: web.Request) -> web.Response:
        """The upload URL: raw bytes (or a multipart form with one file), answered 200 like Slack's."""
        fault = self._fault("upload", "")
        if fault is not None and fault.status != 200:
            return web.Response(status=fault.status, text="fault")
        upload = self.files.get(request.match_info["file_id"])
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            part = next(iter(form.values()))
            data = part.file.read() if hasattr(part, "file") else str(part).encode()
        else:
            data = await request.read()
        if upload is None or len(data) != upload.length:
            return web.Response(status=400, text="upload does not match files.getUploadURLExternal")
        upload.data = data
        await self._record_call("upload", {"file_id": request.match_info["file_id"], "size": len(data)})
        return web.Response(text=f"OK - {len(data)}")
