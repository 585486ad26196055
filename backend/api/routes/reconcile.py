from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request

from backend.api.deps import SessionDep
from backend.api.schemas import ReconcileReport
from backend.core.reconcile import ReconcileError, reconcile
from peerlend.deployments import DeploymentError
from peerlend.rpc import Rpc

router = APIRouter(tags=["reconcile"])


@router.get(
    "/reconcile",
    summary="对账: SQL mirror vs on-chain views at the last indexed block",
    response_model=ReconcileReport,
    responses={
        409: {"description": "Nothing indexed yet, or the database indexes another chain or deployment"},
        503: {"description": "The RPC node or the deployment record is not available"},
    },
)
def get_reconcile(request: Request, session: SessionDep) -> dict:
    settings = request.app.state.settings
    rpc = Rpc(settings.rpc_url, settings.rpc_timeout)
    try:
        chain_id = rpc.chain_id()
        deployment = settings.load_deployment(chain_id)
        report = reconcile(session, rpc, deployment)
    except ReconcileError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None
    except DeploymentError as exc:
        raise HTTPException(status_code=503, detail=str(exc)) from None
    except Exception as exc:  # noqa: BLE001  (RPC down, node without the block's state)
        raise HTTPException(
            status_code=503, detail=f"chain not reachable: {type(exc).__name__}: {exc}"
        ) from None
    return report.as_dict()
