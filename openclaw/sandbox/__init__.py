"""The sandbox policy every tool and script plugin goes through.

Three layers, because a blocklist alone can always be bypassed:
1. a command blocklist (dangerous patterns, matched through quoting and wrappers),
2. a path allowlist (the workspace by default) decided on fully resolved paths, symlinks included,
   and race-free file access beneath it for code that opens files (`WorkspaceFiles`),
3. OS isolation with bubblewrap, else Landlock (else commands are refused, unless isolation is
   turned off): the workspace read-write, system folders read-only, home directories, temporary
   folders and `$OPENCLAW_HOME` out of reach, no network unless configured, nothing outliving
   the command.
URLs get an SSRF check (`check_url`, and `ssrf_guarded_connector` for aiohttp, which re-checks the
address actually connected to). A denial raises `SandboxDenied`, a `ToolError` whose message names
the rule, so the model reads it. See docs/security.md for what each layer does and does not stop.

The modules, one job each: `shell` (the lexer) and `scan` (the simple commands a command line may
run) analyse commands; `rules` is the blocklist; `paths` the path allowlist; `fs` opens files
beneath it by descriptor (`WorkspaceFiles`); `processes` runs commands (output capping, process
groups, the bubblewrap and Landlock argv); `landlock_exec` is the wrapper that confines a command
under Landlock; `urls` the SSRF guard; `policy` holds `SandboxPolicy`, which ties them together;
`errors` holds `SandboxDenied`. Import from `openclaw.sandbox`, not from the modules.
"""

from openclaw.sandbox.errors import SandboxDenied
from openclaw.sandbox.fetch import guarded_get
from openclaw.sandbox.fs import WorkspaceFiles
from openclaw.sandbox.policy import SandboxPolicy
from openclaw.sandbox.processes import (
    Isolation,
    ProcessResult,
    SpawnedProcess,
    end_process,
    kill_process_group,
    wait_process,
)
from openclaw.sandbox.rules import COMMAND_RULES, CommandRule
from openclaw.sandbox.urls import USER_AGENT

__all__ = [
    "COMMAND_RULES",
    "USER_AGENT",
    "CommandRule",
    "Isolation",
    "ProcessResult",
    "SandboxDenied",
    "SandboxPolicy",
    "SpawnedProcess",
    "WorkspaceFiles",
    "end_process",
    "guarded_get",
    "kill_process_group",
    "wait_process",
]
