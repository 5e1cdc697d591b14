"""Hook implementations only; each tool family lives in its own module, imported when the
App registers its tools. `openclaw scripts` is named in the `openclaw.cli` entry points."""

from __future__ import annotations

from typing import Any

from openclaw import hookimpl


@hookimpl
def register_config_sections(register: Any) -> None:
    from openclaw.config import ConfigSection
    from openclaw_tools_builtin.web import WebFetchSettings, WebSearchSettings

    register(ConfigSection("tools.web_search", WebSearchSettings, "the web_search tool"))
    register(ConfigSection("tools.web_fetch", WebFetchSettings, "the web_fetch tool"))


@hookimpl
def register_tools(register: Any, context: Any) -> None:
    from openclaw_tools_builtin import cron_tool, exec_tools, files, scripts, search, sessions, web
    from openclaw_tools_builtin.script_approvals import APPROVALS_FILE, Approvals

    policy = context.sandbox  # the App's one policy
    for module in (exec_tools, files, search, web, sessions, cron_tool):
        for tool in module.make_tools(policy, context):
            register(tool)
    register(scripts.ScriptTools(policy, Approvals(context.config.home / APPROVALS_FILE)))


@hookimpl
def register_providers(register: Any) -> None:
    from openclaw_tools_builtin.web import DUCKDUCKGO

    register(DUCKDUCKGO)
