"""Tests of wiki/desk (the folder mirrors the package)."""
