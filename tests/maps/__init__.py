"""Tests of wiki/maps (the folder mirrors the package)."""
