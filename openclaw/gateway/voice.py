"""A voice message as a text message: its audio transcribed by the speech-to-text provider
(off the event loop, in the provider) and the transcription shown to the user first."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from openclaw.gateway.streaming import send_reply
from openclaw.providers import ProviderError
from openclaw.speech import NoSpeechProvider, SpeechUnavailable, transcribe

if TYPE_CHECKING:
    from openclaw.channels import ChannelSurface, InboundMessage
    from openclaw.models import Models

VOICE_REPLY = (
    "Voice input is not configured: install a speech-to-text plugin, or send your message as text."
)


async def transcribe_message(
    models: Models, channel: ChannelSurface, message: InboundMessage
) -> InboundMessage | None:
    """`message` with its audio as text, or None, once the user is told why, when there are
    no words to answer."""
    audio = [a for a in message.attachments if a.kind == "audio"]
    try:
        texts = [await transcribe(models, a.data, a.mime_type) for a in audio]
    except NoSpeechProvider:
        reply = VOICE_REPLY
    except SpeechUnavailable as exc:
        reply = f"⚠️ Voice input is not available: {exc}. `openclaw doctor` says more."
    except ProviderError as exc:
        reply = f"⚠️ I could not transcribe your voice message: {exc.reason}"
    else:
        text = "\n".join(t for t in texts if t)
        if text:
            heard = f"🎤 {text}"
            await send_reply(channel, message.chat_id, heard, reply_to=message.message_id)
            rest = [a for a in message.attachments if a.kind != "audio"]
            return replace(message, text=text, attachments=rest)
        reply = "🎤 I could not make out any words in your voice message."
    await send_reply(channel, message.chat_id, reply, reply_to=message.message_id)
    return None
