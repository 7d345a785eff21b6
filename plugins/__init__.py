"""Plugins shipped with crisiswiki. Each registers itself through the `crisiswiki.plugins`
entry-point group; the core never imports them."""
