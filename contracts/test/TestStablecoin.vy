# pragma version ~=0.4.3
"""
@title Test stablecoin (tUSD)
@custom:contract-name TestStablecoin
@license GNU Affero General Public License v3.0 only
@notice A 6-decimal ERC-20 for local chains and tests, standing in for
        USDC/USDT. The deployer owns it and is its only minter; `mint` is
        owner-only so a test network cannot be flooded by strangers.
@dev Built on snekmate's `erc20` module; only the standard ERC-20 surface,
     `mint` and ownership are exported.
"""

from ethereum.ercs import IERC20
implements: IERC20

from snekmate.auth import ownable
from snekmate.tokens import erc20

initializes: ownable
initializes: erc20[ownable := ownable]

exports: (
    erc20.totalSupply,
    erc20.balanceOf,
    erc20.transfer,
    erc20.transferFrom,
    erc20.approve,
    erc20.allowance,
    erc20.name,
    erc20.symbol,
    erc20.decimals,
    ownable.owner,
    ownable.transfer_ownership,
)


@deploy
def __init__():
    """
    @notice Creates "Peerlend Test USD" (tUSD, 6 decimals) owned by the deployer.
    """
    ownable.__init__()
    erc20.__init__("Peerlend Test USD", "tUSD", 6, "Peerlend Test USD", "1")


@external
def mint(to: address, amount: uint256):
    """
    @notice Mints `amount` base units to `to`.
    @dev Only the owner may mint; reverts with "tusd: not owner" otherwise.
    @param to The receiver of the new tokens.
    @param amount The amount in base units (6 decimals).
    """
    assert msg.sender == ownable.owner, "tusd: not owner"
    erc20._mint(to, amount)
