"""Security tests that need more than the app: real proxies and servers."""
