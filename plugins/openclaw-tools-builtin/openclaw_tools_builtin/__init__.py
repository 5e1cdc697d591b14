"""openclaw-tools-builtin: the agent's hands (shell, files, search, web, processes, sessions)."""
