"""Peerlend's shared bottom layer, imported by the services, the CLI, scripts and bench.

`vocabulary` (statuses, methods, grades, terms fields, units, caps), `loanmath` (the contract's
loan arithmetic), `deployments` (the deployment record), `abi` (vendored ABIs), `settings`
(`ChainSettings`), `rpc` (client and error classifier), `retry` (the retry policy), `db` (the
engine factory), `devchain` (a local anvil), `deploy` (deploying with ape); `cli` is the wallet CLI.
See docs/architecture.md.
"""
