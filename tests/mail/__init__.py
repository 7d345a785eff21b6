"""Tests of wiki/mail (the folder mirrors the package)."""
