"""Test helpers shipped to plugin authors: fake model servers and pytest fixtures."""
