"""PostgreSQL restarted under the running app: /readyz says so meanwhile, the app reconnects by itself,
a message owed before the restart is sent once after it, and a request during the outage changes nothing."""

import asyncio
from collections.abc import Iterator

import asyncpg
import pytest

from bot.domain.policy import Policy
from bot.server import create_app
from storage.migrate import upgrade
from tests.conftest import make_settings
from tests.fakes.slack_api import FakeSlack, Fault
from tests.faults.private_postgres import PrivateCluster, binaries
from tests.harness import COORDINATION, Harness
from tests.servers import serve


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivateCluster]:
    bin_dir = binaries()
    if bin_dir is None:
        pytest.skip("no PostgreSQL server binaries in /usr/lib/postgresql/*/bin to run a private cluster")
    private = PrivateCluster(bin_dir)
    try:
        private.init()
        private.start()

        async def create() -> None:
            connection = await asyncpg.connect(private.admin_dsn)
            await connection.execute("CREATE DATABASE shipmate")
            await connection.close()

        asyncio.run(create())
        upgrade(private.url("shipmate"))
        yield private
    finally:
        private.destroy()


async def outbox_row(cluster: PrivateCluster) -> asyncpg.Record:
    connection = await asyncpg.connect(cluster.url("shipmate").replace("+asyncpg", ""))
    try:
        row: asyncpg.Record = await connection.fetchrow("SELECT * FROM outbox WHERE kind = 'card' ORDER BY id DESC")
        return row
    finally:
        await connection.close()


async def until_ready(harness: Harness, want: int) -> None:
    for _ in range(300):
        if (await harness.get("/readyz")).status == want:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"/readyz never answered {want}")


def card_posts(slack: FakeSlack, ref: str) -> int:
    return len([c for c in slack.posts(COORDINATION) if not c.get("thread_ts") and ref in c.text_everywhere])


async def test_app_rides_out_a_postgres_restart(cluster: PrivateCluster, slack: FakeSlack, policy: Policy) -> None:
    settings = make_settings(cluster.url("shipmate"), slack, shipmate_slack_timeout=1.0)
    async with serve(create_app(settings, policy), slack) as harness:
        assert (await harness.get("/readyz")).status == 200
        assert "Proposed" in await harness.command_answer("propose payments 1.0.0 Before the restart")
        await slack.wait_for("chat.postMessage", lambda c: "payments@1.0.0" in c.text_everywhere)

        # A card is owed but Slack refused it once: it waits in the outbox, rescheduled, when the database goes.
        slack.fail("chat.postMessage", Fault(status=500, times=2))
        assert "Proposed" in await harness.command_answer("propose payments 1.1.0 Owed across the restart")
        for _ in range(200):
            row = await outbox_row(cluster)
            if row["attempts"] >= 1 and row["claimed_until"] is None:
                break
            await asyncio.sleep(0.05)
        assert row["status"] == "pending"

        cluster.stop("fast")
        try:
            down = await harness.get("/readyz")
            assert down.status == 503
            assert down.json["status"] == "unavailable"
            during = await harness.command_answer("propose payments 1.2.0 During the outage")
            assert "Something went wrong" in during
            assert "Nothing was changed" in during
        finally:
            cluster.start()
        await until_ready(harness, 200)

        await slack.wait_for("chat.postMessage", lambda c: "payments@1.1.0" in c.text_everywhere, timeout=30)
        assert "Proposed" in await harness.command_answer("propose payments 1.3.0 After the restart")
        await slack.wait_for("chat.postMessage", lambda c: "payments@1.3.0" in c.text_everywhere, timeout=30)
        listed = await harness.command_answer("list payments")
        await slack.settle(0.5)

    assert [card_posts(slack, f"payments@{v}") for v in ("1.0.0", "1.1.0", "1.2.0", "1.3.0")] == [1, 1, 0, 1]
    assert "payments@1.2.0" not in listed
    assert all(f"payments@{v}" in listed for v in ("1.0.0", "1.1.0", "1.3.0"))
