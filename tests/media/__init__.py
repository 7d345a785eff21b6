"""Tests of wiki/media (the folder mirrors the package)."""
