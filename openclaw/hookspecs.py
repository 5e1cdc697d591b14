"""Every hook a plugin can implement, typed and documented.

Registration hooks are synchronous and called once per `App`; a plugin declares objects through
the `register` callback it is given, and the kernel validates, names and records them.
Runtime hooks are few and named for the moment they fire.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click

    from openclaw.channels import InboundMessage
    from openclaw.config import Config
    from openclaw.services import Services
    from openclaw.tools import ToolCallContext, ToolContext

PROJECT = "openclaw"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_config_sections(register: Callable[[Any], None]) -> None:
    """Claim the parts of the config a plugin reads, so that they are validated and not
    refused as unknown keys.

    :param register: call with a :class:`openclaw.config.ConfigSection` for each section: a
        top-level key (``voice``) or a key under ``tools`` (``tools.web_search``).
    :return: nothing.
    When: once per App, before every other register hook; the claimed sections are
    validated with their models before any plugin reads them.
    """


@hookspec
def register_providers(register: Callable[[Any], None]) -> None:
    """Declare provider types: chat models and other kinds (speech, search).

    :param register: call with a :class:`openclaw.providers.ProviderType` for each type.
    :return: nothing.
    When: once per App, while the registry is built.
    """


@hookspec
def register_tools(register: Callable[[Any], None], context: ToolContext) -> None:
    """Declare tools the agent may call.

    :param register: call with a :class:`openclaw.tools.Tool`, or a
        :class:`openclaw.tools.ToolSource` whose tools are listed afresh at each turn.
    :param context: the App's services (``context.config``, ``context.workspace``,
        ``context.sandbox``; the store, models and shutdown callbacks for when tools run).
    :return: nothing.
    When: once per App, while the registry is built.
    """


@hookspec
def register_channels(register: Callable[[Any], None]) -> None:
    """Declare channel classes (telegram, discord, terminal, ...).

    :param register: call with a :class:`openclaw.channels.ChannelType`.
    :return: nothing.
    When: once per App, while the registry is built.
    """


@hookspec
def register_commands(register: Callable[[Any], None]) -> None:
    """Declare slash commands; one implementation serves every channel.

    :param register: call with a :class:`openclaw.commands.Command`.
    :return: nothing.
    When: once per App, while the registry is built.
    """


@hookspec
def register_sinks(register: Callable[[Any], None], config: Config) -> None:
    """Declare event sinks that receive every event of the App.

    :param register: call with an object with a ``name`` and a ``handle(event)`` method
        (sync or async); it may also have ``aclose()``.
    :param config: the App's :class:`openclaw.config.Config`, so a sink is configured
        when it is made (an implementation may leave this parameter out).
    :return: nothing.
    When: once per App, while the registry is built.
    """


@hookspec
def register_cli_commands(cli: click.Group) -> None:
    """Add subcommands to the ``openclaw`` command line.

    :param cli: the root click group; call ``cli.add_command(...)``.
    :return: nothing.
    When: once, when the CLI starts; keep imports inside the command functions.
    """


@hookspec(historic=True)
def add_hookspecs(pm: pluggy.PluginManager) -> None:
    """Add a plugin's own hook specs so that other plugins can implement them.

    :param pm: the plugin manager; call ``pm.add_hookspecs(module)``.
    :return: nothing.
    When: as each plugin registers (historic: late plugins see it too).
    """


@hookspec
def startup(services: Services) -> None:
    """Set up resources once the App is built.

    :param services: the App's services (config, store, models, events, turns, ...).
    :return: nothing, or an awaitable that the kernel awaits.
    When: at the end of ``App.startup()``.
    """


@hookspec
def shutdown(services: Services) -> None:
    """Release resources.

    :param services: the services of the App being shut down.
    :return: nothing, or an awaitable that the kernel awaits.
    When: at the start of ``App.shutdown()``, before the store is closed.
    """


@hookspec(firstresult=True)
def before_tool_call(
    name: str, arguments: dict[str, Any], context: ToolCallContext
) -> dict[str, Any] | str | None:
    """Allow, deny or rewrite a tool call before it runs.

    :param name: the tool's name.
    :param arguments: the parsed arguments.
    :param context: the session key, the principal and the services of the call.
    :return: ``None`` to allow; a ``str`` to deny with that reason (sent to the model as an
        error result); a ``dict`` to run the tool with these arguments instead.
    When: before each tool call; the first non-None answer wins. An implementation that
    raises denies the call (fails closed).
    """


@hookspec
def extend_system_prompt(session_key: str, workspace: str) -> str | None:
    """Add a piece of context to the system prompt.

    :param session_key: the session the turn runs in.
    :param workspace: the workspace directory.
    :return: text appended after the workspace files, or None. Keep it stable across turns
        so that provider prompt caches keep hitting.
    When: as each turn builds its system prompt; one that raises is logged and left out.
    """


@hookspec(firstresult=True)
def inbound_message(message: InboundMessage) -> InboundMessage | str | None:
    """Transform or claim an inbound message before the agent sees it.

    :param message: the message as the channel received it.
    :return: ``None`` to pass it on unchanged; an ``InboundMessage`` to replace it; a ``str``
        to claim it and answer with that text instead of an agent turn.
    When: for each inbound message a channel receives, before slash commands and the agent
    (in the gateway, after access control).
    """
