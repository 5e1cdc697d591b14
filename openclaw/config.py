"""The config file `$OPENCLAW_HOME/openclaw.json`: pydantic models, secrets and clear errors.

A bad file fails with the file, the field path and what was expected. Secrets may be written as
`{"$env": "NAME"}` and are read from the environment only when used. Sections that belong to a
plugin are kept as raw data: the plugin claims them (`ConfigSection`, through the
`register_config_sections` hook) and the kernel validates them with the plugin's model
(`openclaw.config_sections`).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import core_schema

from openclaw.config_file import (
    ConfigFileError,
    read_config_file,
    upstream_differences,
    upstream_error,
)
from openclaw.paths import config_path, default_workspace, openclaw_home
from openclaw.redaction import is_secret_name as is_secret_name  # the one rule, re-exported
from openclaw.redaction import redact_data, url_password

M = TypeVar("M", bound=BaseModel)


class ConfigError(ValueError):
    """The config could not be read or validated; the message says where and why."""


class Secret:
    """A secret given literally or as `{"$env": "NAME"}`; never shown in full."""

    __slots__ = ("_value", "env")

    def __init__(self, value: str | None = None, env: str | None = None) -> None:
        self._value = value
        self.env = env

    def get(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The secret's value, read from the environment for `$env` secrets (None if unset)."""
        if self.env is not None:
            return (os.environ if environ is None else environ).get(self.env) or None
        return self._value

    def masked(self) -> Any:
        return {"$env": self.env} if self.env is not None else "********"

    def __repr__(self) -> str:
        return f"Secret({self.masked()!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and self.env == other.env and self._value == other._value

    def __hash__(self) -> int:
        return hash((self.env, self._value))

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[Any], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        def parse(value: Any) -> Secret:
            if isinstance(value, Secret):
                return value
            if isinstance(value, str):
                return cls(value=value)
            if (
                isinstance(value, dict)
                and set(value) == {"$env"}
                and isinstance(value["$env"], str)
            ):
                return cls(env=value["$env"])
            raise ValueError('expected a string or {"$env": "VARIABLE_NAME"}')

        return core_schema.no_info_plain_validator_function(
            parse,
            serialization=core_schema.plain_serializer_function_ser_schema(lambda s: s.masked()),
        )


class Strict(BaseModel):
    """Base of the kernel's sections: unknown keys are errors, so typos are caught."""

    model_config = ConfigDict(extra="forbid", validate_default=True)


class AgentConfig(Strict):
    name: str = Field("main", pattern=r"^[A-Za-z0-9_-]+$")
    model: str = "ollama/llama3.2:1b"
    fallbacks: list[str] = Field(default_factory=list)
    workspace: Path | None = None
    max_rounds: int = Field(20, ge=1, le=200)
    turn_timeout: float = Field(120, gt=0)
    first_token_timeout: float = Field(30, gt=0)
    history_tokens: int = Field(12000, ge=256)
    tool_output_chars: int = Field(32000, ge=200)
    tool_timeout: float = Field(60, gt=0)
    offline_fallback: bool = True


class EnvironSettings(BaseModel):
    """Settings that read `$VAR` secrets from the environment the App was given
    (`App(environ=...)`, else `os.environ`): validated with `validate_part(..., environ=...)`."""

    _environ: Mapping[str, str] | None = PrivateAttr(default=None)

    def model_post_init(self, context: Any) -> None:
        if isinstance(context, dict):
            self._environ = context.get("environ")

    @property
    def environ(self) -> Mapping[str, str]:
        return self._environ if self._environ is not None else os.environ

    def secret(self, secret: Secret | None) -> str | None:
        """The value of one of these settings' secrets, from that environment."""
        return secret.get(self.environ) if secret is not None else None


class ProviderSettings(EnvironSettings):
    """Settings every provider entry has; a provider type's own model adds its fields."""

    model_config = ConfigDict(extra="forbid")

    type: str = "openai"
    base_url: str | None = None
    api_key: Secret | None = None
    max_retries: int = Field(2, ge=0, le=10)
    timeout: float = Field(60, gt=0)


class ChannelSettings(EnvironSettings):
    """Settings every channel entry has; a channel type's own model adds its fields."""

    model_config = ConfigDict(extra="allow")

    enabled: bool = False
    allowed_user_ids: list[int | str] = Field(default_factory=list)
    pairing: bool = False  # unknown users get a one-time code for `openclaw pairing approve`
    pairing_code_ttl: float = Field(3600, gt=0)  # seconds a pairing code stays valid
    pairing_max_pending: int = Field(10, ge=1)  # codes pending at once; more strangers get none


class SandboxConfig(Strict):
    """How tools that run commands, touch files or fetch URLs are confined (`openclaw.sandbox`)."""

    isolation: Literal["auto", "bubblewrap", "landlock", "none"] = "auto"
    bubblewrap_path: str = Field("bwrap", min_length=1)
    landlock: bool = True
    env: list[str] = Field(default_factory=list)
    exec_timeout: float = Field(60, gt=0)
    allowed_paths: list[str] = Field(default_factory=list)
    blocked_commands: list[str] = Field(default_factory=list)
    network: bool = False
    allowed_hosts: list[str] = Field(default_factory=list)
    output_limit: int = Field(64_000, ge=1_000)

    @field_validator("blocked_commands")
    @classmethod
    def _check_patterns(cls, entries: list[str]) -> list[str]:
        """A `re:` entry must compile now, not fail at the first command."""
        for entry in entries:
            if not entry.strip():
                raise ValueError("an entry is empty")
            if entry.startswith("re:"):
                try:
                    re.compile(entry[3:])
                except re.error as exc:
                    raise ValueError(
                        f"{entry!r} is not a valid regular expression: {exc}"
                    ) from None
        return entries

    @field_validator("env")
    @classmethod
    def _check_env(cls, names: list[str]) -> list[str]:
        """Names of environment variables, not `NAME=value` pairs."""
        for name in names:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise ValueError(f"{name!r} is not an environment variable name")
        return names

    @field_validator("allowed_hosts")
    @classmethod
    def _check_hosts(cls, entries: list[str]) -> list[str]:
        """Hostnames are compared lower-case; an entry with `/` must be a valid CIDR network."""
        checked = []
        for entry in entries:
            entry = entry.strip().lower().rstrip(".")
            if not entry:
                raise ValueError("an entry is empty")
            if "/" in entry:
                try:
                    ipaddress.ip_network(entry, strict=False)
                except ValueError:
                    raise ValueError(f"{entry!r} is not a valid CIDR network") from None
            checked.append(entry)
        return checked


class LimitsConfig(Strict):
    rate_per_minute: int = Field(10, ge=1)
    max_concurrent_turns: int = Field(5, ge=1)
    debounce_ms: int = Field(1500, ge=0)


class GatewayConfig(Strict):
    host: str = "127.0.0.1"
    port: int = Field(3100, ge=0, le=65535)


class PluginsConfig(Strict):
    disable: list[str] = Field(default_factory=list)


class LoggingConfig(Strict):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["console", "json"] = "console"


class StoreConfig(Strict):
    path: Path | None = None
    prune_days: int = Field(30, ge=1)


class DeliveryTarget(Strict):
    """Where a scheduled turn's answer goes: a running channel (its config name) and a chat."""

    channel: str = Field(min_length=1)
    chat: str = Field(min_length=1)

    @field_validator("chat", mode="before")
    @classmethod
    def _chat_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


HEARTBEAT_PROMPT = (
    "This is your periodic heartbeat. Read the checklist from HEARTBEAT.md below and do what "
    "it asks. If nothing needs the user's attention, reply with exactly HEARTBEAT_OK."
)


class HeartbeatConfig(Strict):
    """A periodic agent turn over the workspace's HEARTBEAT.md (`openclaw.gateway.heartbeat`)."""

    enabled: bool = False
    every: str = "30m"
    target: DeliveryTarget | None = None
    active_hours: str | None = None
    timezone: str = "UTC"
    prompt: str = Field(HEARTBEAT_PROMPT, min_length=1)

    @field_validator("every", "timezone")
    @classmethod
    def _check_schedule(cls, value: str, info: ValidationInfo) -> str:
        from openclaw.cron import ScheduleError, parse_interval, parse_timezone

        try:
            (parse_interval if info.field_name == "every" else parse_timezone)(value)
        except ScheduleError as exc:
            raise ValueError(str(exc).removeprefix("timezone: ")) from None
        return value

    @field_validator("active_hours")
    @classmethod
    def _check_hours(cls, value: str | None) -> str | None:
        from openclaw.active_hours import parse_active_hours

        if value is not None:
            parse_active_hours(value)
        return value


@dataclass(frozen=True, slots=True)
class ConfigSection:
    """A plugin's claim on a part of the config: a top-level key (`voice`) or a key under
    `tools` (`tools.web_search`), validated with `model` when the App is built."""

    name: str
    model: type[BaseModel]
    description: str = ""


class Config(BaseModel):
    """The whole config file. Top-level keys that are not fields here are kept raw until the
    App checks them against the plugins' claims (`openclaw.config_sections`)."""

    model_config = ConfigDict(extra="allow")

    agent: AgentConfig = Field(default_factory=AgentConfig)
    providers: dict[str, dict[str, Any]] = Field(default_factory=dict)
    channels: dict[str, dict[str, Any]] = Field(default_factory=dict)
    sandbox: SandboxConfig = Field(default_factory=SandboxConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    gateway: GatewayConfig = Field(default_factory=GatewayConfig)
    plugins: PluginsConfig = Field(default_factory=PluginsConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    heartbeat: HeartbeatConfig = Field(default_factory=HeartbeatConfig)
    # one entry per tool family, each claimed by a plugin as `tools.<name>`
    tools: dict[str, dict[str, Any]] = Field(default_factory=dict)

    # Where the config came from; not part of the file.
    home: Path = Field(default_factory=openclaw_home, exclude=True)
    source: Path | None = Field(None, exclude=True)

    @property
    def workspace(self) -> Path:
        return (self.agent.workspace or default_workspace(self.home)).expanduser()

    @property
    def sessions_db(self) -> Path:
        return (self.store.path or self.home / "sessions.db").expanduser()

    def section(self, name: str, model: type[M]) -> M:
        """A plugin's section (the one it claimed with a `ConfigSection`) validated with its
        model, defaults when absent; a dotted name such as `tools.web_search` reaches into
        a top-level section, so each tool family owns one key of `tools`."""
        data: Any = {"tools": self.tools, **(self.model_extra or {})}
        for part in name.split("."):
            data = data.get(part, {}) if isinstance(data, dict) else {}
        return validate_part(model, data, name, self.source)

    def public_dict(self) -> dict[str, Any]:
        """The config as JSON data with every secret masked, URL passwords too (for
        `config show`, `/status`)."""
        return redact_data(_mask(self.model_dump(mode="json")))

    def secret_values(
        self, extra: Iterable[Any] = (), environ: Mapping[str, str] | None = None
    ) -> set[str]:
        """Every secret value this config holds (see `secret_values`), and those of `extra`
        data such as provider presets."""
        return secret_values([self, *extra], environ)


def secret_values(data: Any, environ: Mapping[str, str] | None = None) -> set[str]:
    """The secret values in config data, for redaction: `Secret` fields (`{"$env": NAME}`
    read from the environment), strings under secret-named keys, the variables named by
    `*_env` keys of secret fields (`api_key_env`), `{"$env": NAME}` values in raw sections,
    and the passwords of URLs."""
    env = os.environ if environ is None else environ
    found: set[str] = set()

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, Secret):
            found.add(value.get(env) or "")
        elif isinstance(value, BaseModel):
            fields = {**dict(value), **(value.model_extra or {})}
            for name, item in fields.items():
                walk(item, name)
        elif isinstance(value, Mapping):
            if set(value) == {"$env"} and isinstance(value["$env"], str):
                found.add(env.get(value["$env"], ""))
                return
            for name, item in value.items():
                walk(item, str(name))
        elif isinstance(value, list | tuple | set):
            for item in value:
                walk(item, key)
        elif isinstance(value, str):
            if is_secret_name(key):
                found.add(value)
            elif key.endswith("_env") and is_secret_name(key.removesuffix("_env")):
                found.add(env.get(value, ""))
            found.add(url_password(value) or "")

    walk(data)
    found.discard("")
    found.discard("********")
    return found


def _mask(value: Any) -> Any:
    """Mask secrets that live in raw (plugin-validated) sections too."""
    if isinstance(value, dict):
        masked: dict[str, Any] = {}
        for key, item in value.items():
            if is_secret_name(key) and isinstance(item, str) and item not in ("", "********"):
                masked[key] = "********"
            else:
                masked[key] = _mask(item)
        return masked
    if isinstance(value, list):
        return [_mask(item) for item in value]
    return value


def format_validation_error(error: ValidationError, prefix: str = "") -> str:
    """One line per problem: the field path, what is wrong and what was given."""
    lines = []
    for item in error.errors():
        location = ".".join(str(part) for part in (prefix, *item["loc"]) if part != "")
        given = item.get("input")
        shown = "" if isinstance(given, dict | list) else f" (got {json.dumps(given)})"
        lines.append(f"  {location or '(top level)'}: {item['msg']}{shown}")
    return "\n".join(lines)


def validate_part(
    model: type[M],
    data: Any,
    where: str,
    source: Path | None,
    environ: Mapping[str, str] | None = None,
) -> M:
    """Validate one section of the file with a model, raising ConfigError naming file and field.
    `environ` is where the section's `$VAR` secrets are read (`EnvironSettings`)."""
    try:
        return model.model_validate(data, context={"environ": environ})
    except ValidationError as exc:
        raise ConfigError(
            f"{source or 'config'}: invalid config\n{format_validation_error(exc, where)}"
        ) from None


def load_config(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> Config:
    """Read the config file (or defaults when the default file is absent) and apply env overrides.

    `OPENCLAW_MODEL` replaces `agent.model` for a one-off run. A file written for upstream
    OpenClaw is refused with the differences named (`openclaw config import-upstream`).
    """
    env = os.environ if environ is None else environ
    file = config_path(openclaw_home(env)) if path is None else Path(path).expanduser()
    data: Any = {}
    if file.exists():
        try:
            _, data = read_config_file(file)
        except ConfigFileError as exc:
            raise ConfigError(str(exc)) from None
    elif path is not None:
        raise ConfigError(f"{file}: config file not found")
    return config_from_data(data, file if file.exists() else None, env)


def config_from_data(
    data: Any, source: Path | None, environ: Mapping[str, str] | None = None
) -> Config:
    """Validate the file's data (`source` names it in errors and resolves a relative workspace)."""
    env = os.environ if environ is None else environ
    where = source or "config"
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: the config must be a JSON object")
    differences = upstream_differences(data)
    if differences:
        raise ConfigError(upstream_error(where, differences))
    config = validate_part(Config, data, "", source)
    config.home = openclaw_home(env)
    config.source = source
    workspace = config.agent.workspace
    if source is not None and workspace is not None and not workspace.expanduser().is_absolute():
        config.agent.workspace = source.parent / workspace
    if env.get("OPENCLAW_MODEL"):
        config.agent.model = env["OPENCLAW_MODEL"]
    return config
