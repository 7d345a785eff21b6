"""Tests of wiki/auth (the folder mirrors the package)."""
