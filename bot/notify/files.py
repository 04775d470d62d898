"""Images for Block Kit: a PNG uploaded with `files_upload_v2` (files.getUploadURLExternal → the upload URL →
files.completeUploadExternal), shared with no channel, and shown by id in an `image` block's `slack_file`."""

import logging

from slack_sdk.errors import SlackApiError

from bot.notify.slack_clients import SlackClients

log = logging.getLogger(__name__)


class SlackFiles:
    def __init__(self, clients: SlackClients) -> None:
        self.clients = clients

    async def upload_png(self, *, team_id: str, png: bytes, filename: str, title: str, alt_text: str) -> str | None:
        """The uploaded file's id, or None when Slack could not take it (the caller answers without the image)."""
        try:
            client = await self.clients.for_team(team_id)
            response = await client.files_upload_v2(file=png, filename=filename, title=title, alt_txt=alt_text)
            file_id = (response.get("file") or {}).get("id")
            return str(file_id) if file_id else None
        except Exception as exc:  # best effort by design: whatever the upload does, the answer goes out without it
            reason = f"slack {exc.response.get('error')}" if isinstance(exc, SlackApiError) else type(exc).__name__
            log.warning("could not upload %s: %s", filename, reason)
            return None
