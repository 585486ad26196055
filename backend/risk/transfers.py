"""ERC-20 `Transfer` logs of the allow-listed tokens, for the AML rules.

The indexer mirrors Peerlend's own contracts; where a lender's money came from is only visible
in the token's own logs. This module follows each allow-listed token (LoanBook's
`TokenAllowed`) from the deployment's start block up to the indexer's cursor (never beyond:
the rules see one consistent block), in ranges of `batch_blocks`, one transaction per range.

Reorgs: each token's cursor stores its block's hash. If the indexer's cursor is now below ours
(it rolled back), or our cursor block's hash is no longer the chain's, transfers above the
last `reorg_window` blocks are deleted and read again. A node that refuses a range (hosted
RPCs cap ranges and result counts) is asked for half of it, down to one block.
"""

from __future__ import annotations

import logging

from eth_utils import keccak, to_checksum_address
from sqlalchemy import delete, select
from sqlmodel import Session

from backend.db.models import SyncState, Token
from backend.risk.models import RiskTransfer, RiskTransferCursor
from peerlend.rpc import Rpc, RpcError

log = logging.getLogger("peerlend.risk.transfers")

TRANSFER_TOPIC = "0x" + keccak(text="Transfer(address,address,uint256)").hex()


def _address(topic: str) -> str:
    return to_checksum_address("0x" + topic[-40:])


def _rewind(session: Session, cursor: RiskTransferCursor, to_block: int) -> None:
    session.exec(
        delete(RiskTransfer).where(RiskTransfer.token == cursor.token, RiskTransfer.block_number > to_block)
    )
    cursor.last_block = to_block
    cursor.last_block_hash = None


def ingest(engine, rpc: Rpc, batch_blocks: int = 2_000, reorg_window: int = 64) -> int:
    """Reads new transfers of every allow-listed token up to the indexed block; returns how many."""
    added = 0
    with Session(engine, expire_on_commit=False) as session:
        state = session.scalars(select(SyncState).limit(1)).first()
        if state is None:
            return 0
        target = state.last_block
        tokens = [row.address for row in session.scalars(select(Token).where(Token.allowed))]
        for token in tokens:
            cursor = session.get(RiskTransferCursor, token)
            if cursor is None:
                cursor = RiskTransferCursor(token=token, last_block=state.start_block - 1)
                session.add(cursor)
            if cursor.last_block > target:
                _rewind(session, cursor, target)
            elif cursor.last_block_hash is not None:
                header = rpc.get_headers([cursor.last_block]).get(cursor.last_block)
                if header is None or header["hash"] != cursor.last_block_hash:
                    log.warning("transfers of %s: block %d changed; re-reading", token, cursor.last_block)
                    _rewind(session, cursor, max(state.start_block - 1, cursor.last_block - reorg_window))
            session.commit()
            size = batch_blocks
            while cursor.last_block < target:
                start = cursor.last_block + 1
                end = min(target, start + size - 1)
                query = {
                    "fromBlock": hex(start),
                    "toBlock": hex(end),
                    "address": token,
                    "topics": [TRANSFER_TOPIC],
                }
                try:
                    logs = rpc.request("eth_getLogs", [query]) or []
                except RpcError:
                    if size == 1:
                        raise
                    size = max(1, size // 2)  # hosted nodes cap ranges or results: ask for less
                    continue
                logs = [entry for entry in logs if not entry.get("removed") and len(entry["topics"]) == 3]
                numbers = {end} | {int(entry["blockNumber"], 16) for entry in logs}
                headers = rpc.get_headers(sorted(numbers))
                if headers.get(end) is None:
                    break  # the chain is shorter than the indexer thought: retry next pass
                rows = []
                for entry in logs:
                    number = int(entry["blockNumber"], 16)
                    header = headers.get(number)
                    if header is None or header["hash"] != entry["blockHash"]:
                        raise RuntimeError(f"transfer log in block {number} does not match its header")
                    rows.append(
                        RiskTransfer(
                            token=token,
                            block_number=number,
                            block_hash=entry["blockHash"],
                            timestamp=header["timestamp"],
                            tx_hash=entry["transactionHash"],
                            log_index=int(entry["logIndex"], 16),
                            sender=_address(entry["topics"][1]),
                            receiver=_address(entry["topics"][2]),
                            amount=int(entry["data"], 16) if entry["data"] not in ("0x", "") else 0,
                        )
                    )
                session.add_all(rows)
                cursor.last_block = end
                cursor.last_block_hash = headers[end]["hash"]
                session.add(cursor)
                session.commit()
                added += len(rows)
    return added
