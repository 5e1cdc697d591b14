"""Discord's own slash commands: the kernel's commands registered with Discord, so that typing
`/` in a Discord client offers them, and the reply surface that answers one invocation through
its interaction. The commands themselves stay the kernel's: an invocation becomes the text
`/name args` and goes through the gateway like a typed command.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

import disnake
from disnake.interactions.application_command import ApplicationCommandInteraction

from openclaw.commands import Command

if TYPE_CHECKING:
    from openclaw_channel_discord.channel import DiscordChannel

ARGS = "args"
"""The one optional text option every registered command has: what follows the name."""
MAX_COMMANDS = 100  # Discord's limit of global slash commands per application
_NAME = re.compile(r"[-_a-z0-9]{1,32}")


def application_commands(commands: Mapping[str, Command]) -> list[disnake.ApplicationCommand]:
    """One Discord slash command per kernel command (aliases are typed, not registered)."""
    registered: list[disnake.ApplicationCommand] = []
    for command in commands.values():
        if not _NAME.fullmatch(command.name):
            continue
        option = disnake.Option(
            ARGS, (command.usage or "arguments")[:100], disnake.OptionType.string, required=False
        )
        description = (command.description or command.name)[:100]
        registered.append(disnake.SlashCommand(command.name, description, options=[option]))
    return registered[:MAX_COMMANDS]


def command_text(interaction: ApplicationCommandInteraction) -> str:
    """The invocation as the kernel parses typed commands: `/model openai/gpt-4o`."""
    args = next((o.value for o in interaction.data.options if o.name == ARGS), None)
    return f"/{interaction.data.name} {args or ''}".strip()


class InteractionReply:
    """The reply surface for one slash-command invocation: the first message answers the
    interaction (Discord shows it under the command, after "thinking…"), later ones go to the
    channel like any reply. Everything else is the channel's."""

    def __init__(self, channel: DiscordChannel, interaction: ApplicationCommandInteraction) -> None:
        self.channel = channel
        self.interaction = interaction
        self.name, self.prefix, self.max_len = channel.name, channel.prefix, channel.max_len
        self.max_caption_len = channel.max_caption_len
        self.answer_id: str | None = None
        """The id of the message that answered the interaction, once sent."""

    @property
    def state(self) -> str:
        return self.channel.state

    def format_markdown(self, text: str) -> str:
        return self.channel.format_markdown(text)

    async def send_text(
        self, chat_id: str, text: str, *, markdown: bool = False, reply_to: str | None = None
    ) -> str:
        if self.answer_id is not None:
            return await self.channel.send_text(chat_id, text, markdown=markdown)
        content = self.format_markdown(text) if markdown else text
        message = await self.channel.api_call(
            lambda: self.interaction.edit_original_response(content=content)
        )
        self.answer_id = str(message.id)
        return self.answer_id

    async def edit_text(
        self, chat_id: str, message_id: str, text: str, *, markdown: bool = False
    ) -> None:
        if message_id != self.answer_id:
            await self.channel.edit_text(chat_id, message_id, text, markdown=markdown)
            return
        content = self.format_markdown(text) if markdown else text
        await self.channel.api_call(
            lambda: self.interaction.edit_original_response(content=content)
        )

    async def send_typing(self, chat_id: str) -> None:
        await self.channel.send_typing(chat_id)

    async def send_file(self, chat_id: str, filename: str, data: bytes, caption: str = "") -> None:
        await self.channel.send_file(chat_id, filename, data, caption)

    async def send_voice(self, chat_id: str, ogg_opus: bytes, caption: str = "") -> None:
        await self.channel.send_voice(chat_id, ogg_opus, caption)
