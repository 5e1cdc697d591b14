"""Hook implementations only: the speech provider types, the `tts` tool and `/voice`. Piper,
faster-whisper and pocketsphinx are imported when a model is first used."""

from __future__ import annotations

from typing import Any

from openclaw.hookspecs import hookimpl
from openclaw.providers import ProviderType


@hookimpl
def register_providers(register: Any) -> None:
    from openclaw_voice import stt, tts

    # best first: with nothing configured, the first usable preset of a kind is used
    types = [
        ("piper", "tts", tts.Piper, tts.PiperSettings, "Piper neural voices, offline"),
        ("espeak-ng", "tts", tts.Espeak, tts.EspeakSettings, "espeak-ng, the light fallback"),
        ("faster-whisper", "stt", stt.FasterWhisper, stt.FasterWhisperSettings, "Whisper"),
        ("whisper-cpp", "stt", stt.WhisperCpp, stt.WhisperCppSettings, "whisper.cpp's CLI"),
        ("pocketsphinx", "stt", stt.PocketSphinx, stt.PocketSphinxSettings, "light, offline"),
    ]
    for name, kind, create, settings, description in types:
        register(
            ProviderType(
                name=name,
                kind=kind,
                create=create,
                settings_model=settings,
                presets={name: {}},
                description=description,
            )
        )


@hookimpl
def register_config_sections(register: Any) -> None:
    from openclaw.config import ConfigSection
    from openclaw_voice.speak import VoiceSettings

    # claimed, so a bad `voice` section fails when the App is built
    register(ConfigSection("voice", VoiceSettings, "/voice answers and the tts tool"))


@hookimpl
def register_tools(register: Any, context: Any) -> None:
    from openclaw_voice.speak import make_tts_tool

    register(make_tts_tool(context.services))


@hookimpl
def register_commands(register: Any) -> None:
    from openclaw_voice.speak import VOICE_COMMAND

    register(VOICE_COMMAND)
