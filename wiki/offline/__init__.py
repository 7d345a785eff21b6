"""The offline report app: what a volunteer's phone keeps to report without a connection.

A web app manifest per crisis (installable, starting at the crisis's report form), the service
worker at the site's root (static/js/sw.js, served by `/sw.js` with the root scope), the list of
what it keeps for a crisis (`/c/<crisis>/offline.json`), the "Sent from this phone" page, and the
page shells it keeps: pages rendered as the public sees them, without a CSRF token, a session or
anything about the person asking, so that nothing private is ever in its cache.

The routes are in `views` (registered by create_app); `shell` is what other features' views use
to answer with a shell, and imports nothing of the app's features."""
