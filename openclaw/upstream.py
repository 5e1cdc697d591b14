"""Converting upstream OpenClaw's config (`openclaw config import-upstream`).

What maps: the model and its fallbacks, the workspace, provider entries and keys (including keys
in upstream's `env` section), and the Telegram and Discord tokens, DM policies and allowlists.
Everything else is listed as not imported, path by path, so the user knows what to redo.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# upstream's `api` of a provider entry → our provider type
API_TYPES = {
    "openai-completions": "openai",
    "openai-responses": "openai",
    "anthropic-messages": "anthropic",
}
# key variables of upstream's built-in providers, which our presets of the same name read too
KEY_VARIABLES = {
    "ANTHROPIC_API_KEY": "anthropic",
    "OPENAI_API_KEY": "openai",
    "OPENROUTER_API_KEY": "openrouter",
    "MOONSHOT_API_KEY": "moonshot",
    "DEEPSEEK_API_KEY": "deepseek",
}
_WHOLE_VARIABLE = re.compile(r"^\$\{([A-Z_][A-Z0-9_]*)\}$")
_CHANNEL_PREFIXES = {"telegram": ("telegram:", "tg:"), "discord": ("discord:", "user:")}


@dataclass
class Conversion:
    """Our config's data, and a line for each upstream setting that was not carried over."""

    config: dict[str, Any] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    def skip(self, path: str, why: str = "no equivalent here") -> None:
        self.skipped.append(f"{path}: {why}")


def secret(value: Any) -> Any:
    """`${VAR}` → `{"$env": "VAR"}`; a literal string stays literal."""
    if isinstance(value, str) and (match := _WHOLE_VARIABLE.match(value.strip())):
        return {"$env": match.group(1)}
    return value


def convert(data: dict[str, Any], presets: set[str] | frozenset[str] = frozenset()) -> Conversion:
    """Our config for upstream's `data`; `presets` are the provider names that need no entry."""
    result = Conversion()
    handlers = {
        "agents": _agents,
        "agent": _agents,
        "models": _models,
        "env": _env,
        "channels": _channels,
        "gateway": _gateway,
    }
    for key, value in data.items():
        handler = handlers.get(key)
        if handler is None:
            result.skip(key)
        else:
            handler(result, key, value)
    agent = result.config.get("agent", {})
    known = set(presets) | set(result.config.get("providers", {}))
    for ref in [agent.get("model"), *agent.get("fallbacks", [])]:
        provider = ref.partition("/")[0] if isinstance(ref, str) else None
        if provider is not None and provider not in known:
            result.skip(f"model {ref}", f"add a providers.{provider} entry (no such preset here)")
    return result


def _agent_section(result: Conversion) -> dict[str, Any]:
    return result.config.setdefault("agent", {})


def _model(result: Conversion, where: str, value: Any) -> None:
    agent = _agent_section(result)
    if isinstance(value, str):
        agent["model"] = value
        return
    if not isinstance(value, dict):
        result.skip(where, "expected a model ref or {primary, fallbacks}")
        return
    for key, item in value.items():
        if key == "primary" and isinstance(item, str):
            agent["model"] = item
        elif key == "fallbacks" and isinstance(item, list):
            agent["fallbacks"] = [ref for ref in item if isinstance(ref, str)]
        else:
            result.skip(f"{where}.{key}")


def _agent_settings(result: Conversion, where: str, settings: Any) -> None:
    """One agent's settings (`agents.defaults`, an entry of `agents.list`, or legacy `agent`)."""
    if not isinstance(settings, dict):
        result.skip(where, "expected an object")
        return
    for key, value in settings.items():
        if key == "model":
            _model(result, f"{where}.model", value)
        elif key == "workspace" and isinstance(value, str):
            _agent_section(result)["workspace"] = value
        elif key == "id" and isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9_-]+", value):
            _agent_section(result)["name"] = value
        elif key != "default":
            result.skip(f"{where}.{key}")


def _agents(result: Conversion, key: str, value: Any) -> None:
    if key == "agent":
        _agent_settings(result, key, value)
        return
    if not isinstance(value, dict):
        result.skip(key, "expected an object")
        return
    for part, item in value.items():
        if part == "defaults":
            _agent_settings(result, "agents.defaults", item)
        elif part == "list" and isinstance(item, list) and item:
            chosen = next((a for a in item if isinstance(a, dict) and a.get("default")), item[0])
            _agent_settings(result, f"agents.list[{item.index(chosen)}]", chosen)
            for index, other in enumerate(item):
                if other is not chosen:
                    result.skip(f"agents.list[{index}]", "one agent per config here")
        else:
            result.skip(f"agents.{part}")


def _models(result: Conversion, key: str, value: Any) -> None:
    if not isinstance(value, dict):
        result.skip(key, "expected an object")
        return
    for part, item in value.items():
        if part == "providers" and isinstance(item, dict):
            for name, entry in item.items():
                _provider(result, name, entry)
        elif part != "mode":
            result.skip(f"models.{part}")


def _provider(result: Conversion, name: str, entry: Any) -> None:
    where = f"models.providers.{name}"
    if not isinstance(entry, dict):
        result.skip(where, "expected an object")
        return
    api = entry.get("api", "openai-completions")
    if api not in API_TYPES:
        result.skip(where, f"api {api!r} has no provider type here (openai, anthropic)")
        return
    ours: dict[str, Any] = {"type": API_TYPES[api]}
    for key, value in entry.items():
        if key == "baseUrl" and isinstance(value, str):
            ours["base_url"] = value
        elif key == "apiKey" and isinstance(value, str):
            ours["api_key"] = secret(value)
        elif key == "models" and isinstance(value, list):
            ids = [m.get("id") for m in value if isinstance(m, dict)]
            result.skip(
                f"{where}.models", f"model list not needed here ({', '.join(map(str, ids))})"
            )
        elif key != "api":
            result.skip(f"{where}.{key}")
    result.config.setdefault("providers", {})[name] = ours


def _env(result: Conversion, key: str, value: Any) -> None:
    """Provider keys upstream reads from its `env` section (or `env.vars`)."""
    if not isinstance(value, dict):
        result.skip(key, "expected an object")
        return
    nested = value.get("vars")
    variables = {**value, **(nested if isinstance(nested, dict) else {})}
    for name, item in variables.items():
        if name == "vars":
            continue
        provider = KEY_VARIABLES.get(name)
        if provider is None or not isinstance(item, str):
            result.skip(f"env.{name}", "set it in the environment instead")
            continue
        providers = result.config.setdefault("providers", {})
        providers.setdefault(provider, {}).setdefault("api_key", secret(item))


def _user_ids(result: Conversion, channel: str, where: str, entries: Any) -> list[int | str]:
    if not isinstance(entries, list):
        result.skip(where, "expected a list")
        return []
    ids: list[int | str] = []
    for entry in entries:
        text = str(entry).strip()
        for prefix in _CHANNEL_PREFIXES[channel]:
            text = text.removeprefix(prefix)
        if text.isdigit():
            ids.append(int(text))
        else:
            result.skip(f"{where}: {entry!r}", "only numeric user ids are allowlisted here")
    return ids


def _dm_policy(result: Conversion, where: str, policy: Any, ours: dict[str, Any]) -> None:
    if policy == "pairing":
        ours["pairing"] = True
    elif policy not in ("allowlist", None):
        result.skip(where, f"{policy!r}: here only listed or paired users are answered")


def _channels(result: Conversion, key: str, value: Any) -> None:
    if not isinstance(value, dict):
        result.skip(key, "expected an object")
        return
    for name, settings in value.items():
        where = f"channels.{name}"
        if name not in _CHANNEL_PREFIXES or not isinstance(settings, dict):
            result.skip(where, "channel not imported")
            continue
        ours: dict[str, Any] = {"enabled": bool(settings.get("enabled", True))}
        allowed: list[int | str] = []
        for part, item in settings.items():
            if part in ("botToken", "token"):
                ours["token"] = secret(item)
            elif part == "allowFrom":
                allowed += _user_ids(result, name, f"{where}.allowFrom", item)
            elif part == "dmPolicy":
                _dm_policy(result, f"{where}.dmPolicy", item, ours)
            elif part == "dm" and isinstance(item, dict):
                for dm_key, dm_value in item.items():
                    if dm_key == "allowFrom":
                        allowed += _user_ids(result, name, f"{where}.dm.allowFrom", dm_value)
                    elif dm_key == "policy":
                        _dm_policy(result, f"{where}.dm.policy", dm_value, ours)
                    elif dm_key != "enabled":
                        result.skip(f"{where}.dm.{dm_key}")
            elif part != "enabled":
                result.skip(f"{where}.{part}")
        if allowed:
            ours["allowed_user_ids"] = list(dict.fromkeys(allowed))
        result.config.setdefault("channels", {})[name] = ours


def _gateway(result: Conversion, key: str, value: Any) -> None:
    if not isinstance(value, dict):
        result.skip(key, "expected an object")
        return
    for part, item in value.items():
        if part == "port" and isinstance(item, int):
            result.config.setdefault("gateway", {})["port"] = item
        elif part == "bind" and item == "loopback":
            result.config.setdefault("gateway", {})["host"] = "127.0.0.1"
        else:
            result.skip(f"gateway.{part}")
