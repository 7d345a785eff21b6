"""Tests of wiki/places (the folder mirrors the package)."""
