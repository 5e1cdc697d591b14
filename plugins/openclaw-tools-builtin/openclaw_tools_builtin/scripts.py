"""Script plugins: tools declared by JSON manifests in `<workspace>/.openclaw/plugins/*.json`.

A user (or the agent itself) adds a tool by dropping a manifest and a script in the workspace,
without writing a Python plugin or restarting the gateway: manifests are looked up at every turn
and re-read only when a file changed. The command gets the arguments as JSON on stdin and its
stdout is the result; it runs under the sandbox like `exec`. A bad manifest is reported and
skipped, never fatal: one broken file must not take the agent's other tools away.

The owner's turns are offered every manifest; a chat user's turns only those the owner approved
(`openclaw scripts approve`, see `script_approvals`): any user's agent can write a manifest, and
its description would otherwise steer every other user's agent.

    {"name": "greet", "description": "Greet someone by name.",
     "parameters": {"type": "object", "properties": {"name": {"type": "string"}},
                    "required": ["name"]},
     "command": "python3 greet.py", "timeout": 10}
"""

from __future__ import annotations

import json
import logging
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from openclaw.sandbox import SandboxDenied
from openclaw.tools import Tool, ToolCallContext, ToolError
from openclaw_tools_builtin.script_approvals import Approvals, digest

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

    from openclaw.sandbox import SandboxPolicy

log = logging.getLogger("openclaw.tools.scripts")

MANIFEST_DIR = Path(".openclaw") / "plugins"
GRACE = 5.0  # seconds the kernel waits past the script's own timeout, so that one reports first


class Manifest(BaseModel):
    """One manifest file; unknown keys are errors so that a misspelt `timeout` is noticed."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    description: str = Field(min_length=1)
    parameters: dict[str, Any]
    command: str | list[str] = Field(min_length=1)
    timeout: float | None = Field(None, gt=0)


def _schema_validator(schema: dict[str, Any]) -> Validator:
    """A validator for the arguments; ValueError when `schema` is not a valid JSON schema of
    an object (the model is sent it as the tool's parameters)."""
    from jsonschema import exceptions, validators

    cls = validators.validator_for(schema)
    try:
        cls.check_schema(schema)
    except exceptions.SchemaError as exc:
        where = "/".join(str(part) for part in exc.absolute_path)
        raise ValueError(exc.message + (f" (at parameters/{where})" if where else "")) from None
    if schema.get("type") != "object":
        raise ValueError('the schema\'s "type" must be "object"')
    return cls(schema)


def _argument_errors(validator: Validator, arguments: dict[str, Any]) -> str:
    errors = sorted(validator.iter_errors(arguments), key=lambda e: str(list(e.absolute_path)))
    return "; ".join(
        f"{'.'.join(str(p) for p in error.absolute_path) or 'arguments'}: {error.message}"
        for error in errors[:5]
    )


class ScriptTools:
    """The `ToolSource` of script plugins. `problems` holds what the last listing skipped."""

    name = "scripts"

    def __init__(self, policy: SandboxPolicy, approvals: Approvals | None = None) -> None:
        self.policy = policy
        self.approvals = approvals  # None: nothing is approved for chat users
        self.problems: list[str] = []
        # manifest path -> ((mtime_ns, size), the tool or the problem it had, SHA-256)
        self._cache: dict[Path, tuple[tuple[int, int], Tool | str, str]] = {}

    def tools(self, context: ToolCallContext) -> list[Tool]:
        folder = context.workspace / MANIFEST_DIR
        registered = context.services.tool_names()
        paths = sorted(folder.glob("*.json")) if folder.is_dir() else []
        approved: dict[str, str] | None = None  # every manifest, for the owner
        if not context.principal.is_owner:
            approved = self.approvals.load() if self.approvals is not None else {}
        cache: dict[Path, tuple[tuple[int, int], Tool | str, str]] = {}
        tools: list[Tool] = []
        problems: list[str] = []
        owners: dict[str, Path] = {}
        for path in paths:
            try:
                stat = path.stat()
            except OSError:  # removed since the listing
                continue
            stamp = (stat.st_mtime_ns, stat.st_size)
            cached = self._cache.get(path)
            if cached is not None and cached[0] == stamp:
                entry, sha = cached[1], cached[2]
            else:
                entry, sha = self._load(path)
            cache[path] = (stamp, entry, sha)
            if approved is not None and approved.get(path.name) != sha:
                continue  # not approved for chat users (or changed since)
            if isinstance(entry, str):
                problems.append(entry)
            elif entry.name in registered:
                problems.append(f"{path}: a tool named {entry.name!r} already exists; skipped")
            elif entry.name in owners:
                problems.append(
                    f"{path}: tool {entry.name!r} is already declared by {owners[entry.name]}; "
                    "skipped"
                )
            else:
                owners[entry.name] = path
                tools.append(entry)
        for problem in problems:
            if problem not in self.problems:  # log once, not at every turn
                log.warning("script plugin skipped: %s", problem)
        self._cache, self.problems = cache, problems
        return tools

    def _load(self, path: Path) -> tuple[Tool | str, str]:
        """The manifest's tool, or the reason it cannot be one, and the SHA-256 of the bytes
        it was read from."""
        try:
            raw = path.read_bytes()
        except OSError as exc:
            return f"{path}: cannot read: {exc.strerror}", ""
        return self._parse(path, raw), digest(raw)

    def _parse(self, path: Path, raw: bytes) -> Tool | str:
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            return f"{path}: not UTF-8 text"
        except json.JSONDecodeError as exc:
            return f"{path}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        try:
            manifest = Manifest.model_validate(data)
        except ValidationError as exc:
            errors = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'manifest'}: {err['msg']}"
                for err in exc.errors()
            )
            return f"{path}: invalid manifest: {errors}"
        try:
            validator = _schema_validator(manifest.parameters)
        except ValueError as exc:
            return f"{path}: `parameters` is not a valid JSON schema: {exc}"
        command = manifest.command
        try:
            self.policy.check_command(command if isinstance(command, str) else shlex.join(command))
        except SandboxDenied as exc:
            return f"{path}: command refused by the sandbox: {exc}"
        return self._tool(path, manifest, validator)

    def _tool(self, path: Path, manifest: Manifest, validator: Validator) -> Tool:
        policy = self.policy
        name = manifest.name
        timeout = policy.clamp_timeout(manifest.timeout)

        async def run(arguments: dict[str, Any], context: ToolCallContext) -> str:
            problems = _argument_errors(validator, arguments)
            if problems:
                raise ToolError(f"invalid arguments for {name}: {problems}")
            result = await policy.run(
                manifest.command,
                cwd=path.parent,
                stdin=json.dumps(arguments).encode(),
                timeout=timeout,
            )
            if result.timed_out:
                raise ToolError(f"{name} timed out after {timeout:g}s")
            if result.exit_code != 0:
                code = result.exit_code or 0
                status = f"was killed by signal {-code}" if code < 0 else f"exited {code}"
                output = result.stderr.strip() or result.stdout.strip() or "no output"
                raise ToolError(f"{name} {status}: {output}")
            return result.stdout or "(no output)"

        return Tool(
            name=name,
            description=manifest.description,
            parameters=manifest.parameters,
            run=run,
            timeout=timeout + GRACE,
            origin=str(path),
        )
