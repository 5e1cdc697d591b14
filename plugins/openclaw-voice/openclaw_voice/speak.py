"""Speaking an answer: the `voice` config section, the pronunciation hints, and the two ways
text becomes audio — the `tts` tool (a WAV file in the workspace) and the `/voice` command
(the agent's answer as an OGG/Opus voice message)."""

from __future__ import annotations

import asyncio
import re
import secrets
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, field_validator

from openclaw.commands import Command, CommandContext, CommandReply
from openclaw.providers import ProviderError
from openclaw.speech import SpeechUnavailable, pick_tts
from openclaw.tools import Tool, ToolCallContext, ToolError, tool
from openclaw_voice.audio import AudioError, duration, find_ffmpeg, ogg_opus

if TYPE_CHECKING:
    from openclaw.services import Services

TTS_TIMEOUT = 30.0
TTS_FOLDER = "speech"
# emphasis marks at a word's edge only: inside a word (snake_case, 2*3) they are text
_MARKDOWN = re.compile(
    r"```.*?```|`|(?<!\w)(?:\*\*?|__?)|(?:\*\*?|__?)(?!\w)|~~|^#+\s*|^\s*[-*]\s+", re.S | re.M
)
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
# emoji (pictographs, symbols and dingbats, flags, skin tones, joiners, variation selectors):
# voices read them out by name ("white heavy check mark")
_EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u200d\u20e3\ufe0e\ufe0f]+")
_SPACES = re.compile(r"[ \t]{2,}")


class VoiceSettings(BaseModel):
    """The `voice` section."""

    model_config = ConfigDict(extra="forbid")

    ffmpeg: str = "ffmpeg"
    """The ffmpeg that encodes `/voice` answers: a name on the PATH or a path."""
    timeout: float = Field(TTS_TIMEOUT, gt=0, le=600)
    """Seconds for speaking and encoding one `/voice` answer."""
    pronunciations: dict[str, str] = Field(default_factory=dict)
    """Words (whole words, any case) → how to say them, applied before text-to-speech."""

    @field_validator("pronunciations")
    @classmethod
    def _words_not_empty(cls, hints: dict[str, str]) -> dict[str, str]:
        if any(not word.strip() for word in hints):
            raise ValueError("a word to pronounce is empty")
        return hints


def voice_settings(services: Services) -> VoiceSettings:
    return services.config.section("voice", VoiceSettings)


def spoken_form(text: str, pronunciations: dict[str, str]) -> str:
    """The text as it should be read aloud: markdown marks, link targets and emoji dropped, and each
    hinted word replaced by its spoken form (the longest match wins: phrases beat words)."""
    text = _MARKDOWN.sub("", _LINK.sub(r"\1", text))
    text = _SPACES.sub(" ", _EMOJI.sub("", text)).strip()
    if not pronunciations:
        return text
    spoken = {word.lower(): said for word, said in pronunciations.items()}
    words = "|".join(re.escape(word) for word in sorted(spoken, key=len, reverse=True))
    hinted = re.compile(rf"(?<!\w)(?:{words})(?!\w)", re.IGNORECASE)
    # one pass, so that a spoken form is never itself replaced again
    return hinted.sub(lambda match: spoken[match.group(0).lower()], text)


async def speak(
    services: Services,
    text: str,
    out: Path,
    *,
    voice: str | None = None,
    speaker: int | None = None,
    speed: float | None = None,
) -> str:
    """Write `text` as speech to the WAV file `out`; returns the provider's name. Raises
    SpeechUnavailable or ProviderError with a message for the user."""
    spoken = spoken_form(text, voice_settings(services).pronunciations)
    if not spoken:
        raise ProviderError(voice or "tts", "there is nothing to say in this text")
    provider = await pick_tts(services.models, voice)
    await provider.synthesize(spoken, out, speaker=speaker, speed=speed)
    return provider.name


async def voice_note(services: Services, text: str) -> bytes:
    """`text` spoken and encoded as an OGG/Opus voice message within `voice.timeout`; the WAV
    in between is removed."""
    settings = voice_settings(services)
    ffmpeg = find_ffmpeg(settings.ffmpeg, "voice.ffmpeg")
    with tempfile.TemporaryDirectory(prefix="openclaw-voice-") as directory:
        wav = Path(directory) / "answer.wav"
        try:
            async with asyncio.timeout(settings.timeout):
                await speak(services, text, wav)
                return await ogg_opus(wav, ffmpeg, settings.timeout)
        except TimeoutError:
            raise AudioError(
                f"speaking the answer took longer than {settings.timeout:g} s (voice.timeout)"
            ) from None


class TtsArguments(BaseModel):
    text: str = Field(min_length=1, max_length=5000, description="What to say.")
    voice: str | None = Field(
        None,
        description="A text-to-speech provider, e.g. piper or espeak-ng; default: the "
        "configured one, else the best available.",
    )
    speaker: int | None = Field(
        None, ge=0, description="The speaker of a multi-speaker Piper voice (from 0)."
    )
    speed: float | None = Field(
        None, ge=0.25, le=4.0, description="Pace: 1 is the voice's own, 1.5 is faster."
    )


def make_tts_tool(services: Services) -> Tool:
    files = services.files

    @tool(arguments=TtsArguments, timeout=TTS_TIMEOUT)
    async def tts(
        text: str,
        voice: str | None,
        speaker: int | None,
        speed: float | None,
        context: ToolCallContext,
    ) -> str:
        """Speak text into a WAV file in the workspace (speech/...wav) and return its path."""
        unique = secrets.token_hex(4)  # calls in the same second get their own files
        relative = Path(TTS_FOLDER) / f"tts-{time.strftime('%Y%m%d-%H%M%S')}-{unique}.wav"
        # spoken into a scratch folder first: a timed-out Piper thread finishes writing later,
        # and must not leave a file in the workspace after the error
        with tempfile.TemporaryDirectory(prefix="openclaw-voice-") as directory:
            wav = Path(directory) / "speech.wav"
            try:
                used = await speak(
                    context.services, text, wav, voice=voice, speaker=speaker, speed=speed
                )
            except (SpeechUnavailable, ProviderError) as exc:
                raise ToolError(f"text-to-speech failed: {exc}") from None
            seconds = duration(wav)
            with wav.open("rb") as audio:  # copied in through WorkspaceFiles: no symlink followed
                await asyncio.to_thread(files.write, relative, audio)
        return f"{relative} ({seconds:.1f} s of audio, voice {used})"

    return tts


async def voice_command(ctx: CommandContext) -> str | CommandReply:
    """`/voice <message>`: an agent turn, answered as a voice message with the text as its
    caption; a text answer with a note when speech cannot be made here."""
    from openclaw.events import TurnError

    prompt = ctx.args.strip()
    if not prompt:
        return "Usage: /voice <message> — I answer with a voice message."
    try:
        turns = ctx.services.turns
        finished = await turns.ask(prompt, session_key=ctx.session_key, principal=ctx.principal)
    except TurnError as exc:
        return f"⚠️ {exc}"
    answer = finished.text.strip()
    if not answer:
        return "(the answer was empty: nothing to say)"
    try:
        return CommandReply(answer, voice=await voice_note(ctx.services, answer))
    except (SpeechUnavailable, ProviderError, AudioError) as exc:
        return f"{answer}\n\nℹ️ No voice reply: {exc}"


VOICE_COMMAND = Command("voice", "answer with a voice message", voice_command, usage="<message>")
