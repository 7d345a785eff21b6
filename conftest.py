"""The project's shared fixtures and test options reach every test folder (tests/ and each
plugin's tests/) from here: pytest reads `pytest_plugins` only in the root conftest."""

pytest_plugins = ["tests.fixtures"]
