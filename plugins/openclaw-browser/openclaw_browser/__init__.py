"""openclaw-browser: the agent's eyes. A `browser` tool (Playwright driving a system Chromium
behind an SSRF-guarding proxy) and an `image` tool (a vision model looks at a picture)."""
