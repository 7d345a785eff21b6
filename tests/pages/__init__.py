"""Tests of wiki/pages (the folder mirrors the package)."""
