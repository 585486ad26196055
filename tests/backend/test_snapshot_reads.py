"""Every API answer is the database at one indexed block, also while the indexer writes.

The indexer replays the whole lifecycle one block per transaction while readers ask for
`/stats` as fast as they can. Each answer names its `as_of` block; what it counts must be what
the chain had at that block (loans requested, loans disbursed), read from the chain's own logs.
An answer whose statements straddle an indexer commit mixes two blocks and fails here.
"""

from __future__ import annotations

import threading
from collections import Counter

from fastapi.testclient import TestClient

from backend.api.app import create_app
from backend.core.views import DISBURSED
from backend.db.session import migrate
from backend.indexer.sync import Indexer
from peerlend.db import make_engine
from tests.backend.helpers import make_settings

READERS = 4


def events_at_or_below(chain, name: str) -> list[int]:
    """Block numbers of every `name` event of the LoanBook, sorted."""
    event = getattr(chain.book.events, name)
    return sorted(log["blockNumber"] for log in event.get_logs(from_block=0, to_block="latest"))


def test_stats_answers_match_the_chain_at_their_as_of_block(chain, any_db):
    requested = events_at_or_below(chain, "LoanRequested")
    disbursed = events_at_or_below(chain, "LoanDisbursed")
    assert requested and disbursed

    settings = make_settings(chain, any_db, batch_blocks=1, min_batch_blocks=1, max_batch_blocks=1)
    engine = make_engine(any_db)
    migrate(engine)
    indexer = Indexer(settings, engine)
    app = create_app(settings, engine=engine)

    answers: list[dict] = []
    errors: list[str] = []
    done = threading.Event()

    def read(client: TestClient) -> None:
        while not done.is_set():
            response = client.get("/stats")
            if response.status_code != 200:
                errors.append(f"{response.status_code}: {response.text[:200]}")
                continue
            answers.append(response.json())

    with TestClient(app) as client:
        readers = [threading.Thread(target=read, args=(client,)) for _ in range(READERS)]
        for reader in readers:
            reader.start()
        try:
            indexer.run(exit_at_head=True)
        finally:
            done.set()
            for reader in readers:
                reader.join(timeout=60)
        # One last answer at the head, so the comparison below also covers a finished index.
        answers.append(client.get("/stats").json())

    assert not errors, errors[:3]
    blocks = Counter(answer["as_of"]["block"] for answer in answers)
    assert len(blocks) > 5, f"readers saw too few indexed blocks to test anything: {blocks}"
    for answer in answers:
        block = answer["as_of"]["block"]
        expected_requested = sum(1 for b in requested if b <= block)
        expected_disbursed = sum(1 for b in disbursed if b <= block)
        by_status = answer["loans_by_status"]
        assert (answer["loans"], sum(by_status[s] for s in DISBURSED)) == (
            expected_requested,
            expected_disbursed,
        ), f"/stats as of block {block} mixes blocks: {answer['loans']} loans, {by_status}"
