"""The change classes' Block Kit: the CAB agenda and a card of an emergency change are valid Block Kit and keep
people's text inert."""

from datetime import UTC, datetime

from bot.domain.policy import parse_policy
from bot.render import render
from bot.services.change.cab import AgendaEntry, CabAgenda
from bot.services.kernel.release_card import build_card
from tests.conftest import POLICY
from tests.test_templates import HOSTILE, _assert_inert, _release, _valid


def test_cab_agenda_is_valid_and_inert_with_and_without_buttons() -> None:
    deferred = _release(cab_decision="defer", cab_decided_by="U0CABBY", cab_note=HOSTILE)
    planned = _release(id=8, window_start=datetime(2026, 12, 8, 10, tzinfo=UTC))
    agenda = CabAgenda(
        datetime(2026, 12, 8, 14, tzinfo=UTC), True, ["S0CAB"], [AgendaEntry(deferred), AgendaEntry(planned)]
    )
    for buttons in (True, False):
        payload = render("cab_agenda", agenda=agenda, buttons=buttons)
        _valid(payload)
        _assert_inert(payload)
        assert ("cab_approve" in str(payload)) is buttons
    empty = render("cab_agenda", agenda=CabAgenda(agenda.meeting, False, []), buttons=True)
    _valid(empty)
    assert "Nothing needs the CAB" in str(empty)


def test_an_emergency_card_names_its_incident_inertly() -> None:
    policy = parse_policy(POLICY)
    release = _release(change_class="emergency", incident_url=f"https://status.example.com/{HOSTILE}")
    payload = render("release_card", card=build_card(policy, release, [], [], {}))
    _valid(payload)
    _assert_inert(payload)
    assert "Emergency change" in str(payload)
