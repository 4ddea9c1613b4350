"""The README as written (issue 20): every file its examples name is shipped, every `curl` example
calls a route the API has (with the method it uses) and carries the API key where the route needs
one, and the shipped example files work through the API as the README uses them."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from app.api.schemas import AllocateOut
from app.core.settings import get_settings
from app.main import create_app
from tests.app.apihelp import upload_lucknow

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
#: Routes anyone may call (the OGC API for GIS software, the health check, the API docs).
PUBLIC = ("/ogc", "/health", "/docs", "/openapi.json")


def _fenced_blocks(text: str) -> list[str]:
    return re.findall(r"^```(?:sh|bash|console)\n(.*?)^```", text, flags=re.M | re.S)


def readme_commands() -> list[list[str]]:
    """Every command line of the README's shell blocks, in order, continuation lines joined and
    split as the shell would split them (comments and blank lines left out)."""
    commands = []
    for block in _fenced_blocks(README.read_text(encoding="utf-8")):
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            if args := shlex.split(line.strip(), comments=True):
                commands.append(args)
    return commands


def readme_curls() -> list[list[str]]:
    """Every `curl` command of the README's shell blocks, split as the shell would split it."""
    return [args for args in readme_commands() if args[0] == "curl"]


def _method_and_path(args: list[str]) -> tuple[str, str]:
    url = next(a for a in args if a.startswith("http"))
    if "-X" in args:
        method = args[args.index("-X") + 1]
    else:
        method = "POST" if {"-d", "-F", "--data"} & set(args) else "GET"
    return method, urlsplit(url).path


def _api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif (inner := getattr(route, "original_router", None)) is not None:
            yield from _api_routes(inner.routes)


def test_every_example_file_the_readme_names_is_shipped() -> None:
    named = set(re.findall(r"examples/[\w.-]+\.\w+", README.read_text(encoding="utf-8")))
    assert {"examples/organisers.csv", "examples/request.json"} <= named
    for name in sorted(named):
        assert (ROOT / name).is_file(), f"the README names {name}, which is not shipped"


def test_every_curl_example_calls_a_route_of_the_api_with_its_key() -> None:
    routes = list(_api_routes(create_app(get_settings()).routes))
    commands = readme_curls()
    assert len(commands) > 20, "the README's curl examples were not found"
    for args in commands:
        method, path = _method_and_path(args)
        matching = [r for r in routes if r.path_regex.match(path) and method in r.methods]
        assert matching, f"no {method} route for the README's {' '.join(args)}"
        if not path.startswith(PUBLIC):
            assert "Authorization: Bearer $KEY" in args, f"no API key: {' '.join(args)}"
        if "-O" in args or "-o" in args:
            assert "-f" in args, f"a download that would save an error as the file: {args}"


def test_the_shipped_request_allocates_as_the_readme_says(client: TestClient) -> None:
    body = json.loads((ROOT / "examples/request.json").read_text(encoding="utf-8"))
    response = client.post("/allocate", json=body)
    assert response.status_code == 200, response.text
    out = AllocateOut.model_validate(response.json())
    assert out.status in ("optimal", "feasible")
    assert out.check.passed
    assert len(out.assignment) == 26
    assert set(out.assignment.values()) == {"CO-1", "CO-2", "CO-3", "CO-4"}


def test_the_shipped_organisers_are_imported_for_lucknow(
    client: TestClient, lucknow_files: dict[str, Path]
) -> None:
    route = "/cities/lucknow/organisers"
    uploaded = upload_lucknow(client, "lucknow", lucknow_files, exclude="0")
    assert uploaded.status_code == 201, uploaded.text
    with (ROOT / "examples/organisers.csv").open("rb") as fh:
        imported = client.post(route, files={"file": ("organisers.csv", fh, "text/csv")})
    assert imported.status_code == 201, imported.text
    listed = client.get(route).json()
    assert sorted(o["organiser_id"] for o in listed) == [f"CO-{k:02d}" for k in range(1, 21)]
