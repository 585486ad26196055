"""`python -m backend.web [APP_URL]`: how to open the web app and connect a wallet to the local
chain (printed at the end of `make demo`). On a local chain it names a dev account from anvil's
public test mnemonic to import into the wallet; those keys are public and hold only test money."""

from __future__ import annotations

import sys

from backend.settings import get_settings
from peerlend.settings import LOCAL_CHAIN_IDS

# (anvil account index, who it is in the demo story; scripts/_demo/story.py's cast)
DEMO_ACCOUNTS = ((7, "lender Li: KYC-verified, holds tUSD; fund loans on the Market page"),
                 (4, "borrower Ada: KYC-verified and scored; Borrow and Portfolio pages"),
                 (1, "risk officer and pauser: the Operator console"))  # fmt: skip


def main(app_url: str) -> None:
    from web3 import Web3

    from peerlend.devchain import test_account

    settings = get_settings()
    chain_id = Web3(Web3.HTTPProvider(settings.rpc_url)).eth.chain_id
    print(f"== web app: {app_url}/")
    print("   Connect a browser wallet (MetaMask or any EIP-1193 wallet) to the local chain:")
    print(f"     network name  Peerlend local chain\n     RPC URL       {settings.rpc_url}")
    print(f"     chain id      {chain_id}\n     currency      ETH")
    print("   (the page offers to add and switch to this network when the wallet is on another one)")
    if chain_id in LOCAL_CHAIN_IDS:
        print("   Import a dev account into the wallet (anvil's public test keys: local test money only):")
        for index, role in DEMO_ACCOUNTS:
            account = test_account(index)
            print(f"     {account.address}  key 0x{account.key.hex().removeprefix('0x')}")
            print(f"       {role}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else f"http://127.0.0.1:{get_settings().api_port}")
