"""`python -m peerlend.abi [MANIFEST]`: refresh the vendored ABIs from ape's manifest."""

import sys
from pathlib import Path

from peerlend.abi import MANIFEST, refresh

manifest = Path(sys.argv[1]) if len(sys.argv) > 1 else MANIFEST
if not manifest.exists():
    sys.exit(f"{manifest} not found: run `ape compile` first")
for path in refresh(manifest):
    print(f"wrote {path}")
