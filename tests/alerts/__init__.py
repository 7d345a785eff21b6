"""Tests of wiki/alerts (the folder mirrors the package)."""
