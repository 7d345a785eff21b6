"""The CKAN-compatible site the HDX tests publish to (tests/hdx/ckan_server.py)."""

from __future__ import annotations

import pytest

from tests.hdx.ckan_server import TOKEN, CkanServer


@pytest.fixture
def ckan():
    """A CKAN site on a loopback port whose API token is TOKEN."""
    with CkanServer(TOKEN) as site:
        yield site
