"""Tests of wiki/api (the folder mirrors the package)."""
