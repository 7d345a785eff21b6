"""Tests of wiki/offline: the report app that works with no network (service worker, shells, outbox)."""
