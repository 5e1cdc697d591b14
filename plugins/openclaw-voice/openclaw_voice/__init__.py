"""openclaw-voice: speech providers (text-to-speech and speech-to-text), the `tts` tool and the
`/voice` command."""
