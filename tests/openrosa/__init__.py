"""Tests of wiki/openrosa: ODK Collect and KoboCollect submitting through OpenRosa."""
