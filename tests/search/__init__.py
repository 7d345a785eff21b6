"""Tests of wiki/search (the folder mirrors the package)."""
