"""`GET /calendar.ics?token=…`: planned windows, freezes and deploy locks (busy blocks) as an iCalendar feed, built
with `icalendar`."""

import re
from collections.abc import Awaitable, Callable
from datetime import datetime

from aiohttp import web
from icalendar import Calendar, Event

from bot.domain.errors import NotFound
from bot.services.change import feed_links
from bot.services.change.feed_links import Feed, Revoked
from bot.services.kernel.context import ServiceContext
from storage.models import DeployLock


def build_calendar(feed: Feed) -> bytes:
    """Times are UTC (`Z`): every calendar app shows them in its reader's own time zone."""
    cal = Calendar()
    cal.add("prodid", "-//Shipmate//Release calendar//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", "Releases and freezes")
    cal.add("x-published-ttl", "PT15M")
    for window in feed.windows:
        event = Event()
        event.add("uid", f"release-{window.release_id}@{feed.team_id}.shipmate")
        event.add("dtstamp", feed.generated_at)
        event.add("dtstart", window.start)
        event.add("dtend", window.end)
        event.add("summary", f"Release {window.ref} ({window.environment})")
        summary = feed.summaries.get(window.release_id, "")
        event.add("description", f"{summary}\nRisk: {window.risk}\nStatus: {window.status.replace('_', ' ')}")
        event.add("categories", ["release"])
        event.add("status", "CONFIRMED" if window.status != "proposed" else "TENTATIVE")
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    for freeze in feed.freezes:
        event = Event()
        envs = ", ".join(sorted(freeze.environments))
        key = f"freeze-{freeze.freeze_id}" if freeze.freeze_id is not None else f"policy-freeze-{_stamp(freeze.start)}"
        event.add("uid", f"{key}-{'-'.join(sorted(freeze.environments))}@{feed.team_id}.shipmate")
        event.add("dtstamp", feed.generated_at)
        event.add("dtstart", freeze.start)
        event.add("dtend", freeze.end)
        event.add("summary", f"Freeze: {envs} ({freeze.reason})")
        event.add("description", f"No deployments to {envs} without a release manager's override. {freeze.label}.")
        event.add("categories", ["freeze"])
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    for lock in feed.locks:
        cal.add_component(_lock_event(feed, lock))
    return bytes(cal.to_ical())


def _lock_event(feed: Feed, lock: DeployLock) -> Event:
    """A deploy lock as a busy block, from when it was taken to when it ended (or will, if nobody lifts it)."""
    what = f"every service in {lock.environment}" if lock.service == "*" else f"{lock.service} {lock.environment}"
    ended = lock.ended_at if lock.ended_at is not None and lock.ended_at < lock.until else lock.until
    event = Event()
    event.add("uid", f"lock-{lock.id}@{feed.team_id}.shipmate")
    event.add("dtstamp", feed.generated_at)
    event.add("dtstart", lock.since)
    event.add("dtend", max(ended, lock.since))
    event.add("summary", f"Locked: {what} ({lock.holder})")
    event.add("description", f"Deploy lock held by {lock.holder}: {lock.reason}")
    event.add("categories", ["lock"])
    event.add("transp", "OPAQUE")  # busy: nobody else deploys there meanwhile
    return event


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


Handler = Callable[[web.Request], Awaitable[web.Response]]
# What `secrets.token_urlsafe` makes (and a little room): anything else was never a link, however it was encoded.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,200}")


def handler(services: ServiceContext) -> Handler:
    """The route handler, bound to the process's services (see `bot.server.create_app`)."""

    async def serve(request: web.Request) -> web.Response:
        token = request.query.get("token", "")
        if token and not _TOKEN.fullmatch(token):
            return web.Response(
                status=400, text="This is not a calendar link; copy it whole from /release calendar link."
            )
        try:
            feed = await feed_links.feed(services, token)
        except Revoked as refused:
            return web.Response(status=403, text=refused.plain)
        except NotFound as missing:
            return web.Response(status=404, text=missing.plain)
        return web.Response(
            body=build_calendar(feed),
            content_type="text/calendar",
            charset="utf-8",
            headers={"Cache-Control": "private, max-age=300", "Content-Disposition": 'inline; filename="releases.ics"'},
        )

    return serve
