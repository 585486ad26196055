# pragma version ~=0.4.3
"""
@title USDT-style token that returns nothing (TEST ONLY)
@custom:contract-name NoReturnToken
@license GNU Affero General Public License v3.0 only
@notice Test-only ERC-20 look-alike whose `transfer`, `transferFrom` and
        `approve` return no value, like Tether's USDT on Ethereum mainnet.
        It reverts on insufficient balance or allowance (as USDT does).
        Never deploy it anywhere but a test chain.
@dev Hand-written on purpose: snekmate's erc20 returns `bool`, which is
     exactly what this token must not do. The deployer is the only minter.
"""


event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    amount: uint256

event Approval:
    owner: indexed(address)
    spender: indexed(address)
    amount: uint256


name: public(String[32])
symbol: public(String[8])
decimals: public(uint8)
totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])
minter: public(address)


@deploy
def __init__():
    """
    @notice Creates "No Return USD" (nrUSD, 6 decimals); the deployer mints.
    """
    self.name = "No Return USD"
    self.symbol = "nrUSD"
    self.decimals = 6
    self.minter = msg.sender


@external
def mint(to: address, amount: uint256):
    """
    @notice Mints `amount` to `to`. Deployer only.
    """
    assert msg.sender == self.minter, "nrusd: not minter"
    self.totalSupply += amount
    self.balanceOf[to] += amount
    log Transfer(sender=empty(address), receiver=to, amount=amount)


@external
def transfer(to: address, amount: uint256):
    """
    @notice Moves `amount` from the caller to `to`; returns nothing.
    """
    self._transfer(msg.sender, to, amount)


@external
def transferFrom(owner: address, to: address, amount: uint256):
    """
    @notice Moves `amount` from `owner` to `to` using the caller's
            allowance; returns nothing. An allowance of 2**256-1 is infinite.
    """
    allowed: uint256 = self.allowance[owner][msg.sender]
    if allowed != max_value(uint256):
        assert allowed >= amount, "nrusd: insufficient allowance"
        self.allowance[owner][msg.sender] = allowed - amount
    self._transfer(owner, to, amount)


@external
def approve(spender: address, amount: uint256):
    """
    @notice Sets the caller's allowance for `spender`; returns nothing.
    """
    self.allowance[msg.sender][spender] = amount
    log Approval(owner=msg.sender, spender=spender, amount=amount)


@internal
def _transfer(owner: address, to: address, amount: uint256):
    assert to != empty(address), "nrusd: transfer to zero"
    assert self.balanceOf[owner] >= amount, "nrusd: insufficient balance"
    self.balanceOf[owner] -= amount
    self.balanceOf[to] += amount
    log Transfer(sender=owner, receiver=to, amount=amount)
