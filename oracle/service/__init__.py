"""The oracle service: accepts signed applications over HTTP, watches `ScoreRequested`, scores
with the credit model and the borrower's on-chain record, and pushes scores to `CreditOracle`
in batches, exactly once across restarts. See docs/oracle_service.md.

Modules, one concept each: `settings` (configuration), `keys` (the signing key), `retry`
(backoff), `abi` (contract ABI slices), `chain` (web3 connection and deployment), `store`
(database), `canonical` (canonical JSON), `signing` (what applicants sign), `applications`
(accepting submissions, status), `history` (on-chain repayment record), `scorer` (model +
policy), `watcher` (ScoreRequested → requests), `pusher` (exactly-once batches), `worker`
(the loop), `runtime` (wiring), `api` (FastAPI), `commands` (click), `faults` (test hooks).
"""
