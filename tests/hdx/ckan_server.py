"""A small CKAN-compatible site for the tests: the action API endpoints a publisher calls
(`package_show`, `package_create`, `package_update`, `resource_create`, `resource_update`,
`resource_delete`) with CKAN's request and response shapes, served by werkzeug on a loopback port.

It is a server, not a stand-in for our client: it reads what arrives over HTTP (JSON bodies, or
multipart forms with the `upload` file), checks the `Authorization` header against its one API
token (writes without it are 403 "Authorization Error", as CKAN answers), validates a dataset the
way HDX's schema does (required HDX fields, an existing organisation, a unique name: 409
"Validation Error"), and stores datasets, resources and uploaded bytes so that the tests assert
what the site holds.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

HDX_REQUIRED = (
    "title",
    "notes",
    "dataset_source",
    "owner_org",
    "license_id",
    "methodology",
    "dataset_date",
    "data_update_frequency",
)
NAME = re.compile(r"^[a-z0-9_-]{2,100}$")
RESOURCE_FIELDS = ("name", "description", "format")
TOKEN = "ckan-token-of-the-publisher"  # the tests' site's API token


class _Refusal(Exception):
    def __init__(self, status: int, error: dict[str, Any]) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


def _denied(message: str) -> _Refusal:
    return _Refusal(403, {"__type": "Authorization Error", "message": f"Access denied: {message}"})


def _not_found(what: str) -> _Refusal:
    return _Refusal(404, {"__type": "Not Found Error", "message": f"Not found: {what}"})


@dataclass
class CkanSite:
    token: str
    organisations: tuple[str, ...] = ("crisiswiki-test",)
    datasets: dict[str, dict[str, Any]] = field(default_factory=dict)  # by name
    uploads: dict[str, bytes] = field(default_factory=dict)  # by resource id
    calls: list[tuple[str, str | None]] = field(default_factory=list)  # (action, Authorization header)
    url: str = ""

    # -- HTTP ---------------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        request = Request(environ)
        action = request.path.removeprefix("/api/3/action/").removeprefix("/api/action/")
        self.calls.append((action, request.headers.get("Authorization")))
        help_url = f"{self.url}/api/3/action/help_show?name={action}"
        try:
            handler = getattr(self, f"_{action}", None)
            if handler is None or not request.path.startswith(("/api/action/", "/api/3/action/")):
                raise _Refusal(
                    400, {"__type": "Bad request", "message": f"Bad request - Action name not known: {action}"}
                )
            data, files = self._read(request)
            authorised = request.headers.get("Authorization") == self.token
            body, status = {"help": help_url, "success": True, "result": handler(data, files, authorised)}, 200
        except _Refusal as refusal:
            body, status = {"help": help_url, "success": False, "error": refusal.error}, refusal.status
        return Response(json.dumps(body), status=status, mimetype="application/json")(environ, start_response)

    @staticmethod
    def _read(request: Request) -> tuple[dict[str, Any], dict[str, Any]]:
        if request.mimetype == "application/json":
            return request.get_json(force=True) or {}, {}
        if request.method == "GET":
            return dict(request.args), {}
        return dict(request.form), dict(request.files)

    # -- datasets -----------------------------------------------------------------------------

    def _find(self, key: str) -> dict[str, Any]:
        for dataset in self.datasets.values():
            if key in (dataset["id"], dataset["name"]):
                return dataset
        raise _not_found("dataset")

    def _package_show(self, data, files, authorised):
        dataset = self._find(str(data.get("id", "")))
        if dataset.get("private") and not authorised:
            raise _denied("User not authorized to read package")
        return dataset

    def _validate(self, data: dict[str, Any], current: dict[str, Any] | None) -> None:
        errors: dict[str, list[str]] = {}
        name = str(data.get("name", ""))
        if not NAME.match(name):
            errors["name"] = ["Must be purely lowercase alphanumeric (ascii) characters and these symbols: -_"]
        elif name in self.datasets and (current is None or current["name"] != name):
            errors["name"] = ["That URL is already in use."]
        for key in HDX_REQUIRED:
            if not data.get(key):
                errors[key] = ["Missing value"]
        if data.get("owner_org") and data["owner_org"] not in self.organisations:
            errors["owner_org"] = ["Organization does not exist"]
        if not data.get("groups"):
            errors["groups"] = ["Missing value"]  # HDX: at least one country
        if errors:
            raise _Refusal(409, {"__type": "Validation Error", **errors})

    def _package_create(self, data, files, authorised):
        if not authorised:
            raise _denied("User not authorized to create packages")
        self._validate(data, None)
        dataset = {**data, "id": str(uuid.uuid4()), "state": "active", "resources": [], "revision": 1}
        self.datasets[dataset["name"]] = dataset
        return dataset

    def _package_update(self, data, files, authorised):
        current = self._find(str(data.get("id") or data.get("name") or ""))
        if not authorised:
            raise _denied("User not authorized to edit package")
        self._validate(data, current)
        kept = {resource["id"]: resource for resource in current["resources"]}
        resources = [kept[r["id"]] for r in data.get("resources", []) if r.get("id") in kept]
        updated = {**data, "id": current["id"], "resources": resources, "revision": current["revision"] + 1}
        del self.datasets[current["name"]]
        self.datasets[updated["name"]] = updated
        return updated

    # -- resources ----------------------------------------------------------------------------

    def _resource(self, key: str) -> tuple[dict[str, Any], dict[str, Any]]:
        for dataset in self.datasets.values():
            for resource in dataset["resources"]:
                if resource["id"] == key:
                    return dataset, resource
        raise _not_found("resource")

    def _store(self, resource: dict[str, Any], data, files) -> None:
        resource.update({key: data[key] for key in RESOURCE_FIELDS if key in data})
        upload = files.get("upload")
        if upload is not None:
            content = upload.read()
            self.uploads[resource["id"]] = content
            resource.update(
                url=f"{self.url}/dataset/{resource['package_id']}/resource/{resource['id']}/download/{upload.filename}",
                url_type="upload",
                size=len(content),
            )

    def _resource_create(self, data, files, authorised):
        dataset = self._find(str(data.get("package_id", "")))
        if not authorised:
            raise _denied("User not authorized to create resources")
        if "upload" not in files and not data.get("url"):
            raise _Refusal(409, {"__type": "Validation Error", "url": ["Please provide a URL or upload a file"]})
        resource = {"id": str(uuid.uuid4()), "package_id": dataset["id"]}
        self._store(resource, data, files)
        dataset["resources"].append(resource)
        return resource

    def _resource_update(self, data, files, authorised):
        _dataset, resource = self._resource(str(data.get("id", "")))
        if not authorised:
            raise _denied("User not authorized to edit resource")
        self._store(resource, data, files)
        return resource

    def _resource_delete(self, data, files, authorised):
        dataset, resource = self._resource(str(data.get("id", "")))
        if not authorised:
            raise _denied("User not authorized to delete resource")
        dataset["resources"].remove(resource)
        self.uploads.pop(resource["id"], None)
        return None

    # -- what the tests read ------------------------------------------------------------------

    def actions(self) -> list[str]:
        return [action for action, _auth in self.calls]

    def file(self, dataset: str, resource_name: str) -> str:
        resources = {r["name"]: r for r in self.datasets[dataset]["resources"]}
        return self.uploads[resources[resource_name]["id"]].decode("utf-8")


class CkanServer:
    """`with CkanServer(token) as site:` a CkanSite listening on 127.0.0.1 at `site.url`."""

    def __init__(self, token: str, **options: Any) -> None:
        self.site = CkanSite(token, **options)
        self.server = make_server("127.0.0.1", 0, self.site, threaded=True)
        self.site.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> CkanSite:
        self.thread.start()
        return self.site

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)
