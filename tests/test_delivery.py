"""How cut turns are resumed: grouping by turn and the choice of action."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from openclaw.gateway.delivery import MAX_RESTARTS, group, plan
from openclaw.messages import Message
from openclaw.store import SqliteStore


def test_two_turns_of_one_session_that_started_at_the_same_point_are_resumed_apart(
    tmp_path: Path,
):
    with SqliteStore(tmp_path / "sessions.db") as store:
        for message_id in ("1", "2", "3"):
            store.record_inbound("telegram", f"42/{message_id}", "42", message_id)
        # the first turn was cut before it stored anything, so the next began at the same count
        store.start_inbound("telegram", ["42/1"], "tg:main:42:42", 0)
        store.start_inbound("telegram", ["42/2"], "tg:main:42:42", 0)
        records = store.claim_unanswered()
    groups = group(records)
    assert [[r.delivery_id for r in g] for g in groups] == [["42/1"], ["42/2"], ["42/3"]]


def test_the_action_follows_what_the_session_holds_since_the_turn_began(tmp_path: Path):
    with SqliteStore(tmp_path / "sessions.db") as store:
        store.record_inbound("telegram", "42/1", "42", "1")
        store.start_inbound("telegram", ["42/1"], "tg:main:42:42", 1)
        [record] = store.claim_unanswered()
    before = [Message(role="user", content="earlier"), Message(role="assistant", content="ok")]
    question = Message(role="user", content="question")
    assert plan([record], None).action == "redeliver"
    assert plan([record], before[:1]).action == "redeliver"  # its question was never stored
    assert plan([record], [*before[:1], question]).action == "continue"
    answer = Message(role="assistant", content="the answer")
    resumption = plan([record], [*before[:1], question, answer])
    assert (resumption.action, resumption.text) == ("resend", "the answer")
    later = [Message(role="user", content="a later question"), answer]
    assert plan([record], [*before[:1], question, *later]).action == "redeliver"

    assert plan([replace(record, restarts=MAX_RESTARTS)], None).action == "give_up"
