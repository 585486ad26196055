"""The chain → SQL sync loop (`sync.Indexer`), its RPC client, log decoder and state deriver."""
