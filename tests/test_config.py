"""Settings are layered the same way for the core and for plugins: the default, then
instance/config.py, then the CRISISWIKI_<NAME> environment variable, then the config passed to
create_app()."""

from __future__ import annotations

import pytest

from wiki import create_app
from wiki.extensions import db


@pytest.fixture
def instance(tmp_path):
    folder = tmp_path / "instance"
    folder.mkdir()
    (folder / "config.py").write_text(
        "PAGE_MAX_BYTES = 1111\nVALIDATION_RADIUS_KM = 3.0\nSEARCH_PAGE_SIZE = 7\nVALIDATION_HALF_LIFE_DAYS = 5.0\n"
    )
    return folder


def test_each_layer_overrides_the_one_before_for_the_core_and_the_plugin(app_config, instance, monkeypatch):
    monkeypatch.setenv("CRISISWIKI_SEARCH_PAGE_SIZE", "9")
    monkeypatch.setenv("CRISISWIKI_VALIDATION_HALF_LIFE_DAYS", "12.5")
    monkeypatch.setenv("CRISISWIKI_VALIDATION_WINDOW_HOURS", "24")
    config = {
        **app_config,
        "INSTANCE_PATH": str(instance),
        "LOAD_ENTRYPOINT_PLUGINS": True,
        "VALIDATION_WINDOW_HOURS": 6.0,
    }
    app = create_app(config)
    try:
        assert app.config["PAGE_MAX_BYTES"] == 1111  # the instance file over the default
        assert app.config["SEARCH_PAGE_SIZE"] == 9  # the environment over the instance file
        assert app.config["VALIDATION_RADIUS_KM"] == 3.0  # a plugin's setting from the instance file
        assert app.config["VALIDATION_HALF_LIFE_DAYS"] == 12.5  # ... from the environment, typed as its default
        assert app.config["VALIDATION_WINDOW_HOURS"] == 6.0  # the test config over everything
        assert app.config["VALIDATION_MAX_NEIGHBOURS"] == 20  # the default when no layer gives it
    finally:
        with app.app_context():
            db.engine.dispose()
