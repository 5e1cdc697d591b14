"""The Prometheus metrics sink: counts the gateway's traffic from the event bus.

Each sink owns a private `CollectorRegistry`, so two gateways (or two tests) never share
counters. Labels use the session-key prefix of the channel (`tg`, `dc`, `cli`), the same one the
turn events carry in their session keys.
"""

from __future__ import annotations

import gc
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from openclaw.events import (
    BusyRejected,
    Event,
    MessageReceived,
    ProviderFallback,
    RateLimited,
    ToolFinished,
    TurnFailed,
    TurnFinished,
)

LATENCY_BUCKETS = (0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, float("inf"))
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _prefix(session_key: str) -> str:
    return session_key.split(":", 1)[0] if session_key else "unknown"


class MetricsSink:
    """An event sink keeping Prometheus counters, the turn latency histogram and the channel
    state gauge."""

    name = "metrics"

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("openclaw_requests", "Messages received", ["channel"], registry=r)
        self.errors = Counter(
            "openclaw_errors", "Turns failed and messages not handled", ["channel"], registry=r
        )
        self.rate_limited = Counter(
            "openclaw_rate_limited", "Messages refused by the rate limit", ["channel"], registry=r
        )
        self.busy_rejected = Counter(
            "openclaw_busy_rejected",
            "Messages refused with every turn slot busy",
            ["channel"],
            registry=r,
        )
        self.turns = Histogram(
            "openclaw_turn_latency_seconds",
            "Duration of finished turns",
            ["channel"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.tokens = Counter("openclaw_tokens", "Tokens used by finished turns", registry=r)
        self.tool_calls = Counter(
            "openclaw_tool_calls", "Tool calls by outcome", ["status"], registry=r
        )
        self.fallbacks = Counter(
            "openclaw_provider_fallbacks", "Provider fallbacks", ["failed"], registry=r
        )
        self.updates_skipped = Counter(
            "openclaw_updates_skipped",
            "Platform updates that could not be read and were skipped",
            ["channel"],
            registry=r,
        )
        self.duplicates = Counter(
            "openclaw_inbound_duplicates",
            "Messages delivered again by the platform and dropped (already handled)",
            ["channel"],
            registry=r,
        )
        self.resumed = Counter(
            "openclaw_inbound_resumed",
            "Messages resumed at start-up, by how (redeliver, resend, continue, give_up)",
            ["channel", "action"],
            registry=r,
        )
        self.channel_state = Gauge(
            "openclaw_channel_state",
            "1 for the state each channel is in",
            ["channel", "state"],
            registry=r,
        )
        self.frozen = Gauge(
            "openclaw_heap_frozen_objects",
            "Objects start-up left out of garbage collection (gc.freeze)",
            registry=r,
        )
        self.frozen.set_function(gc.get_freeze_count)
        self._states: dict[str, str] = {}

    def handle(self, event: Event) -> None:
        if isinstance(event, MessageReceived):
            self.requests.labels(event.channel).inc()
        elif isinstance(event, RateLimited):
            self.rate_limited.labels(event.channel).inc()
        elif isinstance(event, BusyRejected):
            self.busy_rejected.labels(event.channel).inc()
        elif isinstance(event, TurnFinished):
            self.turns.labels(_prefix(event.session_key)).observe(event.elapsed_ms / 1000)
            self.tokens.inc(event.usage.total)
        elif isinstance(event, TurnFailed):
            self.errors.labels(_prefix(event.session_key)).inc()
        elif isinstance(event, ToolFinished):
            self.tool_calls.labels("ok" if event.ok else "failed").inc()
        elif isinstance(event, ProviderFallback):
            self.fallbacks.labels(event.failed).inc()

    def set_channel_state(self, channel: str, state: str) -> None:
        """Record a channel's state word ("running", "failed", ...; the reason after a colon is
        left out to keep the label set small)."""
        word = state.split(":", 1)[0].strip() or "unknown"
        previous = self._states.get(channel)
        if previous == word:
            return
        if previous is not None:
            self.channel_state.remove(channel, previous)
        self.channel_state.labels(channel, word).set(1)
        self._states[channel] = word

    def exposition(self) -> bytes:
        """The Prometheus text format of every metric."""
        return generate_latest(self.registry)

    def samples(self) -> dict[str, list[dict[str, Any]]]:
        """Every sample as JSON data: name → [{labels, value}] (for `/metrics/json`)."""
        out: dict[str, list[dict[str, Any]]] = {}
        for family in self.registry.collect():
            for sample in family.samples:
                if sample.name.endswith("_created"):
                    continue
                out.setdefault(sample.name, []).append(
                    {"labels": dict(sample.labels), "value": sample.value}
                )
        return out

    def summary(self) -> dict[str, float]:
        """Totals over every label (for `/status`)."""
        samples = self.samples()

        def total(name: str) -> float:
            return sum(item["value"] for item in samples.get(name, []))

        turns = total("openclaw_turn_latency_seconds_count")
        latency = total("openclaw_turn_latency_seconds_sum")
        return {
            "requests": total("openclaw_requests_total"),
            "errors": total("openclaw_errors_total"),
            "rate_limited": total("openclaw_rate_limited_total"),
            "busy_rejected": total("openclaw_busy_rejected_total"),
            "turns": turns,
            "mean_turn_seconds": round(latency / turns, 3) if turns else 0.0,
            "tokens": total("openclaw_tokens_total"),
            "tool_calls": total("openclaw_tool_calls_total"),
            "provider_fallbacks": total("openclaw_provider_fallbacks_total"),
            "updates_skipped": total("openclaw_updates_skipped_total"),
            "duplicates": total("openclaw_inbound_duplicates_total"),
            "resumed": total("openclaw_inbound_resumed_total"),
        }
