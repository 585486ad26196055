"""Reorgs on a real anvil: index a branch, revert the chain (evm_snapshot / evm_revert), mine
a different branch, re-sync. The database must roll back to the common ancestor and re-apply
the new branch, ending exactly where a fresh index of the new chain ends."""

from __future__ import annotations

from sqlmodel import Session

from backend.core.reconcile import reconcile
from backend.db.models import Loan, Note, Repayment
from peerlend.db import make_engine
from tests.backend.helpers import dump, make_settings, send, sync_to_head
from tests.backend.lifecycle import DAY, UNIT


def rpc(chain, method, *params):
    response = chain.w3.provider.make_request(method, list(params))
    assert "error" not in response, response
    return response["result"]


def test_reorg_rolls_back_and_reapplies(chain, any_db, tmp_path):
    sc = chain.scenario
    settings = make_settings(chain, any_db)
    engine = make_engine(any_db)
    snapshot = rpc(chain, "evm_snapshot")
    try:
        indexer = sync_to_head(settings, engine)
        assert indexer.status.last_block == sc.end_block

        # Branch A: A asks for loan 11 and L1 funds it; B pays loan 7's arrears; the buyer sells a note.
        send(
            chain,
            "LoanBook",
            "request_loan",
            sc.token,
            700 * UNIT,
            1_000,
            2,
            30 * DAY,
            0,
            7 * DAY,
            sender=sc.borrower_a,
        )
        send(chain, "LoanBook", "fund", 11, 300 * UNIT, sender=sc.lenders[0])
        due = chain.lens.functions.amount_due(sc.loans["overdue_11"]).call()
        send(chain, "LoanBook", "repay", sc.loans["overdue_11"], due[0] + due[1], sender=sc.borrower_b)
        send(
            chain,
            "LoanNote",
            "transferFrom",
            sc.buyer,
            sc.lenders[2],
            sc.notes["buyer_loan6"],
            sender=sc.buyer,
        )
        indexer.run(exit_at_head=True)
        head_a = chain.w3.eth.block_number
        with Session(engine) as session:
            assert session.get(Loan, 11).borrower == sc.borrower_a
            assert session.get(Note, sc.notes["buyer_loan6"]).owner == sc.lenders[2]
            assert session.query(Repayment).filter(Repayment.loan_id == sc.loans["overdue_11"]).count() == 1

        # The chain switches to branch B from the common ancestor (the lifecycle's last block).
        rpc(chain, "evm_revert", snapshot)
        snapshot = rpc(chain, "evm_snapshot")
        send(
            chain,
            "LoanBook",
            "request_loan",
            sc.token,
            250 * UNIT,
            1_500,
            1,
            30 * DAY,
            3,
            7 * DAY,
            sender=sc.borrower_b,
        )
        send(chain, "LoanBook", "fund", 11, 250 * UNIT, sender=sc.lenders[1])
        due = chain.lens.functions.amount_due(sc.loans["overdue_45"]).call()
        send(chain, "LoanBook", "repay", sc.loans["overdue_45"], due[0] + due[1], sender=sc.borrower_a)
        while chain.w3.eth.block_number <= head_a:
            rpc(chain, "evm_mine")
        indexer.run(exit_at_head=True)

        assert indexer.status.reorgs == 1
        assert indexer.status.last_reorg["to_block"] == sc.end_block
        with Session(engine) as session:
            loan = session.get(Loan, 11)
            assert (loan.borrower, loan.principal, loan.status) == (sc.borrower_b, 250 * UNIT, "FUNDED")
            assert (
                session.get(Note, sc.notes["buyer_loan6"]).owner == sc.buyer
            )  # the sale was on branch A only
            assert session.query(Repayment).filter(Repayment.loan_id == sc.loans["overdue_11"]).count() == 0
            assert session.query(Repayment).filter(Repayment.loan_id == sc.loans["overdue_45"]).count() == 2
            assert reconcile(session, indexer.rpc, indexer.deployment).mismatches == []
        fresh = make_engine(f"sqlite:///{tmp_path / 'fresh_b.db'}")
        sync_to_head(make_settings(chain, str(fresh.url)), fresh)
        assert dump(engine, skip=("block",)) == dump(fresh, skip=("block",))

        # The chain shrinks back to the ancestor (no new blocks): everything after it goes.
        rpc(chain, "evm_revert", snapshot)
        snapshot = None
        indexer.run(exit_at_head=True)
        assert indexer.status.reorgs == 2
        assert indexer.status.last_block == sc.end_block
        reference = make_engine(f"sqlite:///{tmp_path / 'fresh_end.db'}")
        sync_to_head(make_settings(chain, str(reference.url)), reference)
        assert dump(engine, skip=("block",)) == dump(reference, skip=("block",))
        with Session(engine) as session:
            assert session.get(Loan, 11) is None
    finally:
        if snapshot is not None:
            rpc(chain, "evm_revert", snapshot)
        assert chain.w3.eth.block_number == sc.end_block
