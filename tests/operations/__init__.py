"""Tests of wiki/operations (the folder mirrors the package)."""
