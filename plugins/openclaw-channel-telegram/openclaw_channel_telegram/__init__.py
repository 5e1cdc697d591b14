"""openclaw's Telegram channel (aiogram 3): long polling or webhook in, streamed replies out."""
