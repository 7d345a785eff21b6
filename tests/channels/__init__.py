"""Tests of wiki/channels (the folder mirrors the package)."""
