"""One error middleware answers every webhook and API route: a refusal with its class's code and status, a failure of
ours as `500 internal_error` with the id it is logged under, once. What a delivery id keeps follows the status: a
refusal about the release is kept and replayed, a "later" (5xx) never is."""

import logging
from typing import Any

import pytest

from bot.domain.errors import Busy, DomainError, InvalidTransition, NotAllowed
from bot.logs import ContextFilter
from bot.services.change import feed_links
from bot.services.pipeline.gate_waits import GateWaits
from bot.webhooks import ci as ci_hook
from tests.handlers.deploy_steps import hook_body, post_hook, propose_and_approve
from tests.handlers.pipeline_steps import gate, gate_body
from tests.harness import Answer, Harness

REF = "payments@2.5.0"


def _broken(error: Exception) -> Any:
    async def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise error

    return broken


def _logged_once(caplog: pytest.LogCaptureFixture, answer: Answer) -> logging.LogRecord:
    """The answer is a 500 naming an incident, and exactly one ERROR record (with the traceback) has its id."""
    assert answer.status == 500, answer.text
    assert answer.json["ok"] is False
    assert answer.json["error"] == "internal_error"
    incident = answer.json["error_id"]
    assert incident in answer.json["message"]
    assert "the disk is on fire" not in answer.text  # what broke stays in the log
    mentioning = [r for r in caplog.records if getattr(r, "error_id", None) == incident or incident in r.getMessage()]
    assert len(mentioning) == 1, [r.getMessage() for r in mentioning]
    [record] = mentioning
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert "the disk is on fire" in str(record.exc_info[1])
    return record


async def test_a_failure_recording_a_deployment_is_500_with_the_id_it_is_logged_under_and_kept_nowhere(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    await propose_and_approve(harness, REF)
    caplog.handler.addFilter(ContextFilter())  # as `bot.logs.configure` does for the process's handler
    with monkeypatch.context() as faults, caplog.at_level(logging.INFO):
        faults.setattr(ci_hook, "record_from_ci", _broken(RuntimeError("the disk is on fire")))
        failed = await post_hook(harness, hook_body())

    record = _logged_once(caplog, failed)
    assert (getattr(record, "team", None), getattr(record, "release", None)) == ("T0TEAM", REF)
    retried = await post_hook(harness, hook_body())  # the same delivery: nothing was kept, so it is processed now
    assert retried.status == 201, retried.text
    assert "X-Shipmate-Replayed" not in retried.headers


async def test_a_failure_judging_the_gates_is_500_and_the_retry_is_judged_afresh(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    await propose_and_approve(harness, REF)
    caplog.handler.addFilter(ContextFilter())
    body = gate_body(REF, "dev", delivery_id="run-7-dev")
    with monkeypatch.context() as faults, caplog.at_level(logging.INFO):
        faults.setattr(GateWaits, "check", _broken(RuntimeError("the disk is on fire")))
        failed = await gate(harness, body)

    record = _logged_once(caplog, failed)
    assert getattr(record, "release", None) == REF
    retried = await gate(harness, body)
    assert (retried.status, retried.json["allowed"]) == (200, True)
    assert "X-Shipmate-Replayed" not in retried.headers


@pytest.mark.parametrize(
    ("error", "status", "code", "kept"),
    [
        (InvalidTransition("payments@2.5.0 is cancelled."), 409, "invalid_transition", True),
        (NotAllowed("Only the deployers of dev may do that."), 403, "not_allowed", True),
        (Busy(), 503, "busy", False),
    ],
    ids=["invalid-transition", "not-allowed", "busy"],
)
async def test_a_refusal_of_a_report_answers_with_its_code_and_status_and_is_kept_unless_it_says_later(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, error: DomainError, status: int, code: str, kept: bool
) -> None:
    await propose_and_approve(harness, REF)
    with monkeypatch.context() as faults:
        faults.setattr(ci_hook, "record_from_ci", _broken(error))
        refused = await post_hook(harness, hook_body())

    assert refused.status == status, refused.text
    assert refused.json == {"ok": False, "error": code, "message": error.plain}
    again = await post_hook(harness, hook_body())
    if kept:  # the first answer about this delivery stands
        assert (again.status, again.json, again.headers["X-Shipmate-Replayed"]) == (status, refused.json, "true")
    else:
        assert again.status == 201, again.text


async def test_a_gate_refusal_that_says_fix_it_is_answered_but_not_kept(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await propose_and_approve(harness, REF)
    body = gate_body(REF, "dev", delivery_id="run-8-dev")
    with monkeypatch.context() as faults:
        faults.setattr(GateWaits, "check", _broken(NotAllowed("Not for you.")))
        refused = await gate(harness, body)

    assert (refused.status, refused.json["error"]) == (403, "not_allowed")
    retried = await gate(harness, body)
    assert (retried.status, retried.json["allowed"]) == (200, True)


async def test_routes_that_are_not_json_api_keep_their_own_answers(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feed_links, "feed", _broken(RuntimeError("the disk is on fire")))
    answer = await harness.get("/calendar.ics?token=abc")
    assert answer.status == 500
    assert answer.json == {}  # aiohttp's own 500 page: the JSON shape is for `/hooks/…` and `/api/…` only
