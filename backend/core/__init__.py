"""Read-side logic shared by the API and the CLI: loan views, statistics, reconciliation."""
