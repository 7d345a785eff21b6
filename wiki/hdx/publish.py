"""Publishing an HDX dataset to a CKAN site (HDX is one) through CKAN's action API, with ckanapi.

The dataset is found by its name: the first publication creates it (`package_create`), every
later one updates it (`package_update`, its resources kept) and replaces each file in the
resource of the same name (`resource_update` with the upload; `resource_create` for a new file);
a resource whose file is no longer produced (a deleted map layer) is deleted. Publishing twice
leaves one dataset with one resource per file. The API token goes in the Authorization header.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import requests
from ckanapi import RemoteCKAN
from ckanapi.errors import CKANAPIError, NotAuthorized, NotFound, ServerIncompatibleError, ValidationError

from ..errors import InvalidInput
from .dataset import HdxDataset


class PublishFailed(Exception):
    """The CKAN site refused the dataset or could not be reached; the message says what to do."""


@dataclass
class Publication:
    """What a publication did on the CKAN site."""

    name: str
    url: str  # the dataset's page on the site
    created: bool
    resources_created: list[str] = field(default_factory=list)
    resources_updated: list[str] = field(default_factory=list)
    resources_deleted: list[str] = field(default_factory=list)


def check_site(url: str, token: str) -> None:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise InvalidInput(
            f"{url[:200]!r} is not the address of a CKAN site; give --url (or HDX_URL) as "
            "https://data.humdata.org or your CKAN's https:// address.",
            field="url",
        )
    if not token:
        raise InvalidInput(
            "Publishing needs an API token of the CKAN site: set HDX_API_TOKEN (CRISISWIKI_HDX_API_TOKEN), "
            "made on the site under your user's API tokens.",
            field="token",
        )


def publish(dataset: HdxDataset, url: str, token: str, timeout: float = 60.0) -> Publication:
    """Create or update `dataset` on the CKAN site at `url` (see the module docstring)."""
    check_site(url, token)
    url = url.rstrip("/")
    with RemoteCKAN(url, apikey=token, user_agent="crisiswiki (publish-hdx)") as site:
        try:
            return _publish(site, dataset, url, timeout)
        except NotAuthorized as error:
            raise PublishFailed(
                f"The CKAN site at {url} refused the API token (403 Not Authorized: {_said(error)}). Check that "
                "HDX_API_TOKEN is a valid token of a user who may edit the datasets of organisation "
                f"{dataset.metadata['owner_org']!r} (an editor or admin of it)."
            ) from None
        except ValidationError as error:
            raise PublishFailed(
                f"The CKAN site at {url} refused the dataset (409 Validation Error): {_fields(error)}. "
                "Fix these fields (settings HDX_* or the command's options) and publish again."
            ) from None
        except requests.RequestException as error:
            raise PublishFailed(
                f"Could not reach the CKAN site at {url} ({type(error).__name__}); check --url (or HDX_URL) "
                "and that this server may reach it."
            ) from None
        except (CKANAPIError, ServerIncompatibleError) as error:
            raise PublishFailed(
                f"The site at {url} did not answer as CKAN's action API does (is the URL the site's root?): "
                f"{str(error)[:300]}"
            ) from None


def _publish(site: RemoteCKAN, dataset: HdxDataset, url: str, timeout: float) -> Publication:
    def call(action: str, data: dict[str, Any], files: dict | None = None) -> Any:
        return site.call_action(action, data, files=files, requests_kwargs={"timeout": timeout})

    try:
        existing = call("package_show", {"id": dataset.name})
    except NotFound:
        existing = None
    if existing is None:
        package = call("package_create", {**dataset.metadata, "resources": []})
    else:
        merged = {**existing, **dataset.metadata, "state": "active", "resources": existing.get("resources", [])}
        package = call("package_update", merged)
    done = Publication(dataset.name, f"{url}/dataset/{dataset.name}", created=existing is None)
    by_name = {resource.get("name"): resource for resource in package.get("resources", [])}
    for file in dataset.files:
        fields = {"name": file.name, "description": file.description, "format": file.format, "url": ""}
        with file.path.open("rb") as upload:
            attached = {"upload": (file.name, upload)}
            if file.name in by_name:
                call("resource_update", {"id": by_name[file.name]["id"], **fields}, attached)
                done.resources_updated.append(file.name)
            else:
                call("resource_create", {"package_id": package["id"], **fields}, attached)
                done.resources_created.append(file.name)
    produced = {file.name for file in dataset.files}
    for name, resource in by_name.items():
        if name not in produced:
            call("resource_delete", {"id": resource["id"]})
            done.resources_deleted.append(str(name))
    return done


def _said(error: NotAuthorized) -> str:
    detail = getattr(error, "extra_msg", None) or ""
    if isinstance(detail, dict):
        detail = detail.get("message", "")
    return str(detail)[:200] or "no reason given"


def _fields(error: ValidationError) -> str:
    detail = getattr(error, "error_dict", None) or {}
    if not isinstance(detail, dict):
        return str(detail)[:300]
    parts = [f"{name}: {messages}" for name, messages in detail.items() if not name.startswith("__")]
    return "; ".join(parts)[:500] or "no field named"
