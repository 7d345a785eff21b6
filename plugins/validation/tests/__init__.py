"""The validation plugin's tests (the shared fixtures come from tests/fixtures.py through the root
conftest.py)."""
