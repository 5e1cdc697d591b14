"""Errors shared by layers that must not import each other (the sandbox raises what tools
report), defined at the bottom so that both can."""

from __future__ import annotations


class ToolError(Exception):
    """A tool failed in a way the model should be told about (the message is the result)."""
