# pragma version ~=0.4.3
"""
@title Fee-on-transfer token (TEST ONLY)
@custom:contract-name FeeOnTransferToken
@license GNU Affero General Public License v3.0 only
@notice Test-only ERC-20 that keeps a fee (1% by default) of every
        `transfer` and `transferFrom`: the sender is debited the full amount,
        the receiver is credited the amount minus the fee, and the fee goes
        to the deployer. Never deploy it anywhere but a test chain.
@dev Hand-written. The deployer can change the fee (including to zero),
     the way some real tokens (USDT among them) carry a dormant fee switch;
     tests use that to open a loan and then turn the fee on under it.
"""

from ethereum.ercs import IERC20
implements: IERC20


event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256

event Approval:
    owner: indexed(address)
    spender: indexed(address)
    value: uint256


BPS: constant(uint256) = 10_000

name: public(String[32])
symbol: public(String[8])
decimals: public(uint8)
totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])
owner: public(address)
fee_bps: public(uint256)


@deploy
def __init__():
    """
    @notice Creates "Fee USD" (feeUSD, 6 decimals) with a 1% transfer fee.
    """
    self.name = "Fee USD"
    self.symbol = "feeUSD"
    self.decimals = 6
    self.owner = msg.sender
    self.fee_bps = 100


@external
def mint(to: address, amount: uint256):
    """
    @notice Mints `amount` to `to` (no fee). Deployer only.
    """
    assert msg.sender == self.owner, "fee: not owner"
    self.totalSupply += amount
    self.balanceOf[to] += amount
    log Transfer(sender=empty(address), receiver=to, value=amount)


@external
def set_fee_bps(fee_bps: uint256):
    """
    @notice Changes the transfer fee. Deployer only.
    """
    assert msg.sender == self.owner, "fee: not owner"
    assert fee_bps <= BPS, "fee: over 100%"
    self.fee_bps = fee_bps


@external
def transfer(to: address, amount: uint256) -> bool:
    """
    @notice Moves `amount` from the caller; `to` receives it minus the fee.
    """
    self._transfer(msg.sender, to, amount)
    return True


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    """
    @notice Moves `amount` from `owner` with the caller's allowance; `to`
            receives it minus the fee.
    """
    allowed: uint256 = self.allowance[owner][msg.sender]
    if allowed != max_value(uint256):
        assert allowed >= amount, "fee: insufficient allowance"
        self.allowance[owner][msg.sender] = allowed - amount
    self._transfer(owner, to, amount)
    return True


@external
def approve(spender: address, amount: uint256) -> bool:
    """
    @notice Sets the caller's allowance for `spender`.
    """
    self.allowance[msg.sender][spender] = amount
    log Approval(owner=msg.sender, spender=spender, value=amount)
    return True


@internal
def _transfer(owner: address, to: address, amount: uint256):
    assert to != empty(address), "fee: transfer to zero"
    assert self.balanceOf[owner] >= amount, "fee: insufficient balance"
    fee: uint256 = amount * self.fee_bps // BPS
    self.balanceOf[owner] -= amount
    self.balanceOf[to] += amount - fee
    log Transfer(sender=owner, receiver=to, value=amount - fee)
    if fee != 0:
        self.balanceOf[self.owner] += fee
        log Transfer(sender=owner, receiver=self.owner, value=fee)
