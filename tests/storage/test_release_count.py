"""The "…and N older" count stops at its cap, so `/release list` costs the same at any size."""

from storage.db import Database
from storage.models import Release
from storage.repositories import releases


async def test_count_stops_at_the_cap(database_url: str) -> None:
    db = Database(database_url)
    try:
        async with db.transaction() as session:
            for n in range(30):
                session.add(
                    Release(team_id="T0TEAM", service="svc" if n % 2 else "other", version=f"1.{n}.0",
                            summary="s", proposer_id="U0A", channel_id="C0")
                )  # fmt: skip
        async with db.read() as session:
            assert await releases.count(session=session, team_id="T0TEAM") == 30
            assert await releases.count(session=session, team_id="T0TEAM", cap=10) == 10
            assert await releases.count(session=session, team_id="T0TEAM", service="svc", cap=100) == 15
            assert await releases.count(session=session, team_id="T0OTHER", cap=10) == 0
    finally:
        await db.dispose()
