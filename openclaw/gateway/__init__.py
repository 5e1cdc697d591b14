"""The gateway: runs an App's channels under supervision, takes every inbound message through
the pipeline (access, hooks, limits, commands, the streamed agent turn), resumes what a crash
cut, runs the cron scheduler and serves `/health`, `/status` and `/metrics`.

`runner` holds the `Gateway` (the channels' `Inbox`); `supervisor` restarts channels;
`pipeline` has the access and rate limits; `voice` turns voice notes into text; `streaming`
and `chunking` show replies; `delivery` plans resumption; `cron` and `heartbeat` schedule turns;
`http` and `metrics` serve the endpoints.
"""

from openclaw.gateway.http import human_duration
from openclaw.gateway.runner import (
    BUSY_REPLY,
    COMMAND_TYPING_DELAY,
    FAILED_REPLY,
    PAIRING_REPLY,
    Gateway,
    GatewayError,
    preload_sdks,
)
from openclaw.gateway.voice import VOICE_REPLY

__all__ = [
    "BUSY_REPLY",
    "COMMAND_TYPING_DELAY",
    "FAILED_REPLY",
    "PAIRING_REPLY",
    "VOICE_REPLY",
    "Gateway",
    "GatewayError",
    "human_duration",
    "preload_sdks",
]
