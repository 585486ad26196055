"""Risk operations (风控管理) over the indexed chain: early warning, AML alerts, repayment reminders.

One concept per module:

- `delinquency`: days past due, delinquency buckets and their history per loan and borrower;
- `cohorts`: vintage curves, roll-rate matrices and concentration of the book;
- `drift`: each grade's observed 30+ DPD and default rates against the model's PD bands;
- `transfers`: ERC-20 `Transfer` logs of the allow-listed tokens (the indexer mirrors only
  Peerlend's own contracts; AML rules need to see where money came from);
- `aml`: the AML rules, each alert with its evidence, and operator acknowledgements;
- `reminders`: which repayment reminders are due at the indexed block;
- `webhooks`: signed delivery of reminders with retries and a delivery log (exactly once per
  reminder and endpoint);
- `calendar`: the iCalendar feed of an account's dues;
- `monitor`: the background loop that ingests transfers and delivers reminders under `serve`.

Everything except the transfer ingestion and the webhook delivery is a pure function of the
database at the last indexed block ("now" is that block's timestamp, as everywhere in the API).
See docs/risk_operations.md.
"""
