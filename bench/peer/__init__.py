"""Peers for the side-by-side benchmark: the software crisiswiki is compared with (MediaWiki)."""
