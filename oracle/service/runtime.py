"""Wiring: settings → chain, database, model, key. Built once per process by the CLI or tests."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from sqlalchemy.engine import Engine

from oracle.service import keys, store
from oracle.service.chain import Chain
from oracle.service.pusher import Pusher
from oracle.service.scorer import Scorer
from oracle.service.settings import OracleSettings

log = logging.getLogger(__name__)


def load_scorer(settings: OracleSettings) -> Scorer:
    """The model artifact at PEERLEND_ORACLE_MODEL_PATH (its sha256 is the on-chain model id);
    with PEERLEND_ORACLE_MODEL_ID set, any other artifact is refused before it is unpickled."""
    from oracle.model import load_model

    if settings.model_path is None:
        raise RuntimeError(
            "set PEERLEND_ORACLE_MODEL_PATH to the model artifact (peerlend-oracle train prints it)"
        )
    if not settings.model_path.is_file():
        raise RuntimeError(
            f"no model artifact at {settings.model_path}; train one first (peerlend-oracle train)"
        )
    if settings.model_id is not None:
        return Scorer(load_model(settings.model_path, expected_id=settings.model_id))
    return Scorer(load_model(settings.model_path))


@dataclass
class Runtime:
    settings: OracleSettings
    chain: Chain
    engine: Engine
    scorer: Scorer
    account: LocalAccount | None = None

    @classmethod
    def build(
        cls, settings: OracleSettings, *, with_key: bool = True, scorer: Scorer | None = None
    ) -> Runtime:
        chain = Chain.connect(settings)
        engine = store.make_engine(settings.db_url)
        store.bind_deployment(engine, chain.chain_id, chain.oracle.address)
        runtime = cls(settings=settings, chain=chain, engine=engine, scorer=scorer or load_scorer(settings))
        if with_key:
            runtime.account = keys.load_account(settings)
            if not chain.has_oracle_role(runtime.account.address):
                raise RuntimeError(
                    f"{runtime.account.address} lacks ORACLE_ROLE on CreditOracle {chain.oracle.address}; "
                    "the admin must grantRole(ORACLE_ROLE, it)"
                )
        log.info(
            "oracle service: chain %d, CreditOracle %s, model %s, confirmations %d",
            chain.chain_id,
            chain.oracle.address,
            runtime.scorer.model_id,
            chain.confirmations,
        )
        return runtime

    def pusher(self) -> Pusher:
        if self.account is None:
            raise RuntimeError("this runtime has no signing key")
        return Pusher(self.chain, self.engine, self.account, self.scorer, self.settings)
