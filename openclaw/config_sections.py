"""Who owns each part of the config: the kernel's own fields, and the sections plugins claim.

A key nobody owns is a typo until proven otherwise, so it fails naming the nearest known name;
a key that a first-party plugin would claim is only a warning when that plugin is missing.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

from openclaw.config import Config, ConfigError, ConfigSection

# The kernel field whose keys plugins claim as `tools.<name>`; every other field is the kernel's.
SHARED = "tools"

# Sections the first-party plugins claim, and the distribution that claims each.
FIRST_PARTY: dict[str, str] = {
    "voice": "openclaw-voice",
    "tools.web_search": "openclaw-tools-builtin",
    "tools.web_fetch": "openclaw-tools-builtin",
    "tools.browser": "openclaw-browser",
    "tools.image": "openclaw-browser",
}


def kernel_fields() -> set[str]:
    """The top-level keys the kernel validates itself (`Config`'s fields)."""
    return {name for name, field in Config.model_fields.items() if not field.exclude}


def check_claim(name: str) -> str:
    """A claimable section name: a new top-level key or `tools.<key>`; else ValueError."""
    parts = name.split(".") if isinstance(name, str) else []
    if not all(part.replace("_", "").replace("-", "").isalnum() for part in parts) or not (
        len(parts) == 1 or (len(parts) == 2 and parts[0] == SHARED)
    ):
        raise ValueError(
            f"config section name must be a top-level key or 'tools.<key>' (got {name!r})"
        )
    if len(parts) == 1 and name in kernel_fields():
        raise ValueError(f"config section {name!r} belongs to the kernel")
    return name


def check_sections(
    config: Config, claims: Mapping[str, ConfigSection], known_plugins: Iterable[str]
) -> list[str]:
    """Validate each claimed section with its model and refuse keys nobody owns (ConfigError
    naming the key, the file and the nearest known name). Returns a warning for each section
    of a first-party plugin that is not loaded (`known_plugins`: the loaded distributions)."""
    loaded = set(known_plugins)
    where = config.source or "config"
    warnings: list[str] = []
    unknown: list[str] = []
    present = [*(config.model_extra or {}), *(f"{SHARED}.{key}" for key in config.tools)]
    for key in present:
        if key in claims:
            config.section(key, claims[key].model)
            continue
        owner = FIRST_PARTY.get(key)
        if owner is not None and owner not in loaded:
            warnings.append(f"{key}: section of plugin {owner}, which is not installed or loaded")
        else:
            unknown.append(key)
    if unknown:
        known = kernel_fields() | set(claims) | set(FIRST_PARTY)
        lines = [f"{where}: unknown config key(s)"]
        for key in unknown:
            lines.append(f"  {key}: no plugin claims this section{_nearest(key, known)}")
        raise ConfigError("\n".join(lines))
    return warnings


def _nearest(key: str, known: set[str]) -> str:
    """` (did you mean 'sandbox'?)`, comparing `tools.*` keys with `tools.*` names only."""
    prefix = f"{SHARED}." if key.startswith(f"{SHARED}.") else ""
    pool = sorted(name for name in known if name.startswith(f"{SHARED}.") == bool(prefix))
    match = difflib.get_close_matches(key, pool, n=1, cutoff=0.6)
    return f"; did you mean {match[0]!r}?" if match else ""
