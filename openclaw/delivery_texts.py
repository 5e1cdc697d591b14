"""What a user is told when the gateway resumes a message a restart cut (see
`openclaw.gateway.delivery`). In the bottom layer so that a channel plugin's test harness can
recognise these texts in what users were sent without importing the gateway."""

from __future__ import annotations

RESUMED_NOTE = "♻️ I was restarted while answering; here is the answer."
"""The first line of an answer sent again or continued after a restart."""

GAVE_UP_REPLY = (
    "⚠️ Sorry, I was restarted {n} times while answering this message, so I gave up on it. "
    "Please send it again if you still need an answer."
)
"""The answer to a message whose turns were cut `n` times (`MAX_RESTARTS`)."""

RESEND_REPLY = "♻️ I was restarted before I could read this message; please send it again."
"""The answer to a message that cannot be handed over again (a channel without `redeliver`)."""
