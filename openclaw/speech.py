"""Choosing a speech provider (kinds "stt" and "tts") and transcribing a voice note with it.

The kernel knows only the protocols (`SpeechToText`, `TextToSpeech` in `providers.py`); the
backends, their models and any audio conversion belong to plugins. The choice is made by the
config, else by what works on this machine:

1. the `providers` entries whose type is of the kind, in config order: the first usable one;
   when none is usable, an error naming each one's problem (a model the user configured is
   never passed over silently for another);
2. without such entries, the presets of the installed types of the kind, best first (the
   order the plugins registered them in): the first usable one.

"Usable" means the instance's optional `check()` returns without a ProviderError.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from openclaw.config import ConfigError
from openclaw.providers import ProviderError, SpeechToText, TextToSpeech

if TYPE_CHECKING:
    from openclaw.models import Models

SpeechKind = Literal["stt", "tts"]

KIND_NAMES: dict[SpeechKind, str] = {"stt": "speech-to-text", "tts": "text-to-speech"}


class SpeechUnavailable(Exception):
    """No provider of a speech kind can be used here; the message says why and what to do."""


class NoSpeechProvider(SpeechUnavailable):
    """No installed plugin offers a provider of the kind at all."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A provider instance of a speech kind and whether it can be used (`problem` is None)."""

    name: str
    configured: bool
    provider: Any = None
    problem: str | None = None
    detail: str = ""  # what `check()` said it checked


def candidate_names(models: Models, kind: SpeechKind) -> list[tuple[str, bool]]:
    """The instance names of a kind, with whether each is a `providers` entry: the configured
    entries first (config order), then the types' presets (registration order)."""
    type_names = [t.name for t in models.types_of(kind)]
    presets = [name for t in models.types_of(kind) for name in t.presets]
    configured = []
    for name, data in models.configured.items():
        declared = data.get("type") if isinstance(data, dict) else None
        if declared in type_names or (declared is None and name in presets):
            configured.append(name)
    return [(name, True) for name in configured] + [
        (name, False) for name in dict.fromkeys(presets) if name not in configured
    ]


async def check_candidate(
    models: Models, kind: SpeechKind, name: str, configured: bool
) -> Candidate:
    """Build instance `name` and run its `check()`; a problem becomes `Candidate.problem`."""
    try:
        provider = models.get(name, kind)
        check = getattr(provider, "check", None)
        detail = ""
        if check is not None:
            result = check()
            detail = (await result if inspect.isawaitable(result) else result) or ""
    except ProviderError as exc:
        return Candidate(name, configured, problem=exc.reason)
    except (ConfigError, LookupError) as exc:
        return Candidate(name, configured, problem=str(exc))
    return Candidate(name, configured, provider, detail=detail)


async def candidates(models: Models, kind: SpeechKind) -> list[Candidate]:
    """Every instance of a kind, checked (for `openclaw doctor`)."""
    return [
        await check_candidate(models, kind, name, configured)
        for name, configured in candidate_names(models, kind)
    ]


def considered(found: list[Candidate]) -> list[Candidate]:
    """The candidates the choice is made among: the configured ones when there are any."""
    return [c for c in found if c.configured] or found


def preferred(found: list[Candidate]) -> Candidate | None:
    """The candidate that is used: the first usable one of those considered."""
    return next((c for c in considered(found) if c.problem is None), None)


async def pick(models: Models, kind: SpeechKind, name: str | None = None) -> Any:
    """The provider to use for `kind`: instance `name` when given, else the configured or best
    available one (see the module doc). Raises SpeechUnavailable with every reason."""
    what = KIND_NAMES[kind]
    if name is not None:
        named = await check_candidate(models, kind, name, True)
        if named.problem is not None:
            raise SpeechUnavailable(f"{what} provider {name!r} cannot be used: {named.problem}")
        return named.provider
    found = await candidates(models, kind)
    if not found:
        raise NoSpeechProvider(f"no {what} provider is installed (openclaw-voice has some)")
    chosen = preferred(found)
    if chosen is None:
        tried = "; ".join(f"{c.name}: {c.problem}" for c in considered(found))
        raise SpeechUnavailable(f"no {what} provider is usable ({tried})")
    return chosen.provider


async def transcribe(models: Models, audio: bytes, mime_type: str) -> str:
    """The words in an audio attachment, by the chosen speech-to-text provider; raises
    SpeechUnavailable when there is none, ProviderError when it fails on this audio."""
    provider = await pick(models, "stt")
    if not isinstance(provider, SpeechToText):
        raise SpeechUnavailable(f"provider {provider.name!r} cannot transcribe (no transcribe())")
    return (await provider.transcribe(audio, mime_type)).strip()


async def pick_tts(models: Models, name: str | None = None) -> TextToSpeech:
    """`pick` for text-to-speech, checked against the protocol."""
    provider = await pick(models, "tts", name)
    if not isinstance(provider, TextToSpeech):
        raise SpeechUnavailable(f"provider {provider.name!r} cannot speak (no synthesize())")
    return provider
