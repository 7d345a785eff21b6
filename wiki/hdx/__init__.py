"""HDX-ready datasets: a crisis's public reports and map layers as files with HXL hashtags and
the metadata the Humanitarian Data Exchange asks for (wiki.hdx.dataset), published to a CKAN
site through CKAN's action API with ckanapi (wiki.hdx.publish), by `crisiswiki publish-hdx`
(wiki.hdx.cli).

Only what the public may see leaves: the files are written as the anonymous viewer sees the
crisis, through wiki.visibility (published reports only, so never a withdrawn one; sensitive
reports at their grid cell, without place name or district; no source, no contact)."""
