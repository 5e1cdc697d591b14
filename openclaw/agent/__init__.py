"""The agent turn (`turn`) and what the model sees besides the new message (`context`)."""

from openclaw.agent.turn import MAX_ROUNDS_NOTE, Agent, TurnState

__all__ = ["MAX_ROUNDS_NOTE", "Agent", "TurnState"]
