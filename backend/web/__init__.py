"""The Peerlend web app, served by the indexer's FastAPI process at `/` (same origin as the API).

The page is static: `backend/web/src/` bundled by esbuild (`node backend/web/build.mjs`, run by
`make setup`) into `backend/web/dist/`, every dependency from npm and pinned in
package-lock.json, so nothing is fetched from the internet at run time. What the page needs
to know about the chain (chain id, contract addresses, ABIs, tokens) it reads from
`/app/config.json`, built from the deployment record and the vendored ABIs: a new ABI only
needs a restart, not a rebuild. Every transaction is signed by the user's wallet.
"""

from backend.web.routes import mount

__all__ = ["mount"]
