"""openclaw's Discord channel (disnake): the gateway websocket in, streamed replies out."""
