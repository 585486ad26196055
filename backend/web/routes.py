"""Routes of the web app: the page at `/`, its bundle under `/app/`, the chain configuration the
page reads at start (`/app/config.json`), and `/oracle/...`, the oracle service's application
API relayed on this origin so the page never talks to a second origin."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import httpx
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from backend.web.settings import WebSettings
from peerlend import abi
from peerlend.deployments import DeploymentError
from peerlend.rpc import Rpc
from peerlend.settings import is_local_chain

HERE = Path(__file__).resolve().parent
DIST = HERE / "dist"
# What the page calls on the contracts; everything else it reads from the API.
CONTRACTS = ("LoanBook", "LoanNote", "IdentityRegistry", "CreditOracle", "LoanLens")
NOT_BUILT = """<!doctype html><meta charset="utf-8"><title>Peerlend</title>
<p>The web app is not built. Run <code>make setup</code> (it runs <code>node backend/web/build.mjs</code>).</p>"""
ORACLE_PATHS = ("applications", "signing", "health")


@lru_cache(maxsize=64)
def _token_info(rpc_url: str, chain_id: int, address: str) -> dict:
    """Symbol and decimals of an ERC-20, read once per chain (they never change)."""
    contract = Rpc(rpc_url).w3.eth.contract(address=address, abi=abi.ERC20)
    return {
        "address": address,
        "symbol": contract.functions.symbol().call(),
        "decimals": contract.functions.decimals().call(),
    }


def _abi(name: str) -> list | None:
    """The vendored ABI, or None for a contract this checkout has none for."""
    try:
        return abi.load(name)
    except FileNotFoundError:
        return None


def app_config(settings, web: WebSettings) -> dict:
    """Chain id, contract addresses and ABIs (from the deployment record and the vendored ABIs),
    tokens with symbol and decimals, and what the live stream and oracle relay offer."""
    rpc = Rpc(settings.rpc_url, settings.rpc_timeout)
    chain_id = rpc.chain_id()
    try:
        deployment = settings.load_deployment(chain_id)
    except DeploymentError as exc:
        raise HTTPException(status_code=503, detail=str(exc)) from None
    record = deployment.record
    tokens = [_token_info(settings.rpc_url, chain_id, address) for address in deployment.tokens]
    return {
        "chain_id": chain_id,
        "chain_name": "Peerlend local chain" if is_local_chain(chain_id) else f"chain {chain_id}",
        "rpc_url": web.public_rpc_url or settings.rpc_url,
        "contracts": {
            name: {"address": record["contracts"][name]["address"], "abi": _abi(name)}
            for name in CONTRACTS
            if name in record["contracts"] and _abi(name) is not None
        },
        "roles": record.get("roles", {}),
        "tokens": tokens,
        "oracle": bool(web.oracle_url),
    }


def mount(app: FastAPI, web: WebSettings | None = None) -> None:
    web = web or WebSettings()
    app.state.web = web

    @app.get("/", include_in_schema=False)
    def index():
        page = DIST / "index.html"
        if not page.exists():
            return HTMLResponse(NOT_BUILT, status_code=503)
        return FileResponse(page, headers={"Cache-Control": "no-cache"})

    # Not in the API's OpenAPI document: these serve the page, not API clients.
    @app.get("/app/config.json", include_in_schema=False)
    def config(request: Request):
        try:
            body = app_config(request.app.state.settings, web)
        except HTTPException:
            raise
        except Exception as exc:  # noqa: BLE001  (RPC down)
            raise HTTPException(
                status_code=503, detail=f"chain not reachable: {type(exc).__name__}"
            ) from None
        body["stream"] = any(getattr(route, "path", None) == "/events/stream" for route in request.app.routes)
        return JSONResponse(body, headers={"Cache-Control": "no-cache"})

    @app.api_route("/oracle/{path:path}", methods=["GET", "POST"], include_in_schema=False)
    async def oracle(path: str, request: Request):
        if not web.oracle_url:
            raise HTTPException(status_code=503, detail="no oracle service configured (PEERLEND_ORACLE_URL)")
        if path.split("/", 1)[0] not in ORACLE_PATHS:
            raise HTTPException(status_code=404, detail=f"oracle path {path!r} not relayed")
        async with httpx.AsyncClient(base_url=web.oracle_url, timeout=30) as client:
            try:
                answer = await client.request(
                    request.method,
                    f"/{path}",
                    content=await request.body(),
                    headers={"content-type": request.headers.get("content-type", "application/json")},
                )
            except httpx.HTTPError as exc:
                raise HTTPException(status_code=502, detail=f"oracle service not reachable: {exc}") from None
        return Response(
            answer.content, status_code=answer.status_code, media_type=answer.headers.get("content-type")
        )

    # check_dir=False: the API still starts (and says how to build) before the bundle exists.
    app.mount("/app", StaticFiles(directory=DIST, check_dir=False), name="web-app")
