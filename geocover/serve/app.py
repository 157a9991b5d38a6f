"""The web app of ``geocover serve``: one page and a JSON API over a :class:`~geocover.serve.state.Workspace`.

Writes (POST) are accepted only from the app's own pages: the ``Host`` header must name the address
it was started on (which also defeats DNS rebinding), a browser's ``Origin`` must be that same host,
and bodies must be JSON (so a cross-site form cannot send one). Downloads are limited to the files an
export wrote into the workspace folder.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pandas as pd
import uvicorn
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.middleware.trustedhost import TrustedHostMiddleware

from geocover.errors import InputError, Problem
from geocover.render.i18n import LANGS
from geocover.serve import outputs
from geocover.serve.page import page_html
from geocover.serve.state import EditError, Workspace

_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def create_app(workspace: Workspace, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> FastAPI:
    """The app serving ``workspace``, answering requests addressed to ``hosts`` only.

    Parameters
    ----------
    workspace : Workspace
    hosts : tuple of str
        Host names (without port) the app answers; others get 400.

    Returns
    -------
    fastapi.FastAPI
    """
    app = FastAPI(title="geocover planning workspace", docs_url=None, redoc_url=None, openapi_url=None)
    _guard(app, hosts)
    app.include_router(_reading_routes(workspace))
    app.include_router(_editing_routes(workspace))
    return app


def _guard(app: FastAPI, hosts: tuple[str, ...]) -> None:
    """Refuse writes from other origins or without a JSON body, requests to other hosts, and answer the
    workspace's refusals (:class:`EditError`, :class:`InputError`) with 400 and their problems."""

    @app.middleware("http")
    async def same_origin_writes(request: Request, call_next):
        if request.method not in _SAFE_METHODS:
            origin = request.headers.get("origin")
            host = request.headers.get("host", "")
            if origin is not None and origin not in (f"http://{host}", f"https://{host}"):
                return _problems(403, [f"cross-origin write from {origin} refused: use the workspace's own page"])
            if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
                return _problems(415, ["writes must send a JSON body (Content-Type: application/json)"])
        return await call_next(request)

    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(hosts))

    @app.exception_handler(EditError)
    async def refused(_: Request, error: EditError) -> JSONResponse:
        return _problems(400, error.problems)

    @app.exception_handler(InputError)
    async def bad_input(_: Request, error: InputError) -> JSONResponse:
        return _problems(400, [str(problem) for problem in error.problems])


def _reading_routes(workspace: Workspace) -> APIRouter:
    """The GET routes: the page, the workspace, a scenario and its surface, a comparison, exported files."""
    router = APIRouter()

    @router.get("/", response_class=HTMLResponse)
    def page(lang: str = "en") -> HTMLResponse:
        return HTMLResponse(page_html(lang if lang in LANGS else "en", workspace.config.name))

    @router.get("/api/workspace")
    def describe() -> dict:
        return {
            "name": workspace.config.name, "scenarios": list(workspace.scenarios), "tiers": workspace.tiers,
            "bands_minutes": list(workspace.config.bands_minutes), "target_minutes": workspace.config.target_minutes,
            "bounds": outputs.surface_bounds(workspace), "colours": outputs.BAND_COLOURS,
            "zones": json.loads(workspace.zones.to_crs("EPSG:4326").simplify(0.0005).to_json()),
        }

    @router.get("/api/scenarios/{name}")
    def scenario(name: str) -> dict:
        return _scenario(workspace, name)

    @router.get("/api/scenarios/{name}/surface.png")
    def surface(name: str) -> Response:
        with workspace.lock:
            image = outputs.surface_png(workspace, name)
        return Response(image, media_type="image/png",
                        headers={"Cache-Control": "no-store"})

    @router.get("/api/compare")
    def compare(before: str, after: str) -> dict:
        with workspace.lock:
            return {"rows": _records(outputs.compare_scenarios(workspace, before, after))}

    @router.get("/api/scenarios/{name}/export/{file:path}")
    def download(name: str, file: str) -> Response:
        folder = _export_dir(workspace, workspace.get(name).name).resolve()
        path = (folder / file).resolve()
        if not path.is_relative_to(folder) or not path.is_file():
            return _problems(404, [f"no exported file {file!r} for scenario {name!r}: export it first"])
        return Response(path.read_bytes(), media_type="application/octet-stream",
                        headers={"Content-Disposition": f'attachment; filename="{path.name}"'})

    return router


def _editing_routes(workspace: Workspace) -> APIRouter:
    """The POST routes: create a scenario, edit it, undo, suggest sites and export."""
    router = APIRouter()

    @router.post("/api/scenarios")
    async def create(request: Request) -> dict:
        body = await _json(request)
        workspace.create(body.get("name"), body.get("copy_of"))
        return _scenario(workspace, body["name"])

    @router.post("/api/scenarios/{name}/edits")
    async def edit(name: str, request: Request) -> dict:
        workspace.apply(name, await _json(request))
        return _scenario(workspace, name)

    @router.post("/api/scenarios/{name}/undo")
    def undo(name: str) -> dict:
        workspace.undo(name)
        return _scenario(workspace, name)

    @router.post("/api/scenarios/{name}/suggest")
    async def suggest(name: str, request: Request) -> dict:
        k = (await _json(request)).get("k")
        if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= 50:
            raise EditError([f"key 'k': {k!r} is not a whole number of sites from 1 to 50"])
        with workspace.lock:
            sites = outputs.suggest_sites(workspace, name, k)
        keep = [c for c in ("rank", "lon", "lat", "population_added", "zone_name") if c in sites]
        return {"tier": sites.attrs["tier"], "sites": _records(pd.DataFrame(sites[keep]))}

    @router.post("/api/scenarios/{name}/export")
    async def export(name: str, request: Request) -> dict:
        run = bool((await _json(request)).get("run", True))
        with workspace.lock:
            paths = outputs.export(workspace, workspace.get(name).name, _export_dir(workspace, name), run=run)
        return {"files": sorted(paths)}

    return router


def serve(config: str | Path, port: int = 8765, browser: bool = True, host: str = "127.0.0.1") -> None:
    """Load ``config`` once and serve its planning workspace on ``http://host:port`` until interrupted."""
    workspace = Workspace(config)
    url = f"http://{host}:{port}/"
    if browser:
        import threading
        import webbrowser

        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    print(f"geocover: planning workspace of {workspace.config.name} at {url} (state in {workspace.state_dir})")
    uvicorn.run(create_app(workspace, hosts=(host, "localhost", "127.0.0.1")), host=host, port=port,
                log_level="warning")


def app_from_env() -> FastAPI:
    """The app for a production ASGI server (``uvicorn --factory geocover.serve.app:app_from_env``).

    Reads ``GEOCOVER_CONFIG`` (the scenario YAML), optional ``GEOCOVER_STATE_DIR`` (default
    ``<output folder>/workspace``) and ``GEOCOVER_HOSTS`` (comma-separated host names besides
    127.0.0.1 and localhost, e.g. the reverse proxy's public name).
    """
    config = os.environ.get("GEOCOVER_CONFIG")
    if not config:
        raise InputError([Problem("GEOCOVER_CONFIG", "environment variable not set",
                                  "set it to the scenario YAML file the workspace serves")])
    hosts = [h.strip() for h in os.environ.get("GEOCOVER_HOSTS", "").split(",") if h.strip()]
    workspace = Workspace(config, os.environ.get("GEOCOVER_STATE_DIR") or None)
    return create_app(workspace, hosts=("127.0.0.1", "localhost", *hosts))


def _export_dir(workspace: Workspace, name: str) -> Path:
    return workspace.state_dir / "export" / name


async def _json(request: Request) -> dict:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise EditError(["the request body is not valid JSON"]) from None
    if not isinstance(body, dict):
        raise EditError(["the request body must be a JSON object"])
    return body


def _problems(status: int, problems: list[str]) -> JSONResponse:
    return JSONResponse({"problems": problems}, status_code=status)


def _records(table: pd.DataFrame) -> list[dict]:
    """Rows as JSON-safe dicts (NaN and infinities as null)."""
    rows = table.astype(object).where(table.notna(), None).to_dict(orient="records")
    return [{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()} for row in rows]


def _scenario(workspace: Workspace, name: str) -> dict:
    with workspace.lock:
        return _scenario_data(workspace, name)


def _scenario_data(workspace: Workspace, name: str) -> dict:
    scenario = workspace.get(name)
    table = workspace.zone_rows(name)
    audit = outputs.spatial_audit(workspace, name, table)
    facilities = scenario.facilities
    points = pd.DataFrame({"facility_id": facilities["facility_id"].astype(str), "name": facilities["name"],
                           "tier": facilities["tier"], "lon": facilities.geometry.x, "lat": facilities.geometry.y})
    failing = audit[audit["status"] == "fail"] if audit is not None and "status" in audit else None
    return {
        "name": name, "edits": scenario.edits, "facilities": _records(points),
        "key_figures": outputs.key_figures(workspace, table), "zones": _records(table),
        "audit": None if audit is None else {"judged": int(audit["status"].isin(["pass", "fail"]).sum()),
                                             "failing": _records(failing.head(50))},
    }
