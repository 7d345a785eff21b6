"""Tests of wiki/ogcapi (the folder mirrors the package)."""
