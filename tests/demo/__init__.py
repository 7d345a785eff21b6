"""Tests of wiki/demo (the folder mirrors the package)."""
