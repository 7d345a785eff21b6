"""Tests of wiki/reports (the folder mirrors the package)."""
