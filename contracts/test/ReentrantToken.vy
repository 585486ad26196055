# pragma version ~=0.4.3
"""
@title Reentrant token (TEST ONLY)
@custom:contract-name ReentrantToken
@license GNU Affero General Public License v3.0 only
@notice Test-only ERC-20 that, once armed, calls back into a target
        contract (LoanBook) from inside `transfer` and/or `transferFrom`,
        the way an ERC-777 hook or a malicious token would. The callback is
        one-shot and its calldata is set by the test. Never deploy it
        anywhere but a test chain.
@dev Hand-written. Two modes:
     - bubble (`swallow` False): a failing callback reverts the transfer and
       so the whole outer call;
     - swallow (`swallow` True): the callback's failure is recorded
       (`attempts`, `successes`, `last_error`) and the transfer goes on.
     The contract can also act as a lender or payer itself (`execute`) and
     accepts ERC-721 notes (`onERC721Received`), so a callback can target
     positions the token contract really owns.
"""


event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256

event Approval:
    owner: indexed(address)
    spender: indexed(address)
    value: uint256

event HookCalled:
    target: indexed(address)
    success: bool


name: public(String[32])
symbol: public(String[8])
decimals: public(uint8)
totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])
owner: public(address)

hook_target: public(address)
hook_data: public(Bytes[1024])
hook_on_transfer: public(bool)
hook_on_transfer_from: public(bool)
swallow: public(bool)
armed: public(bool)
attempts: public(uint256)
successes: public(uint256)
last_error: public(Bytes[256])


@deploy
def __init__():
    """
    @notice Creates "Reentrant USD" (reUSD, 6 decimals); the deployer controls it.
    """
    self.name = "Reentrant USD"
    self.symbol = "reUSD"
    self.decimals = 6
    self.owner = msg.sender


@external
def mint(to: address, amount: uint256):
    """
    @notice Mints `amount` to `to`. Deployer only.
    """
    assert msg.sender == self.owner, "reent: not owner"
    self.totalSupply += amount
    self.balanceOf[to] += amount
    log Transfer(sender=empty(address), receiver=to, value=amount)


@external
def arm(target: address, data: Bytes[1024], on_transfer: bool, on_transfer_from: bool, swallow: bool):
    """
    @notice Arms a one-shot callback: the next matching transfer calls
            `target` with `data`. Deployer only.
    @param target The contract to call back into.
    @param data Full calldata (selector and arguments).
    @param on_transfer Fire on `transfer` (the target pushing tokens out).
    @param on_transfer_from Fire on `transferFrom` (the target pulling tokens in).
    @param swallow Record a failing callback instead of reverting.
    """
    assert msg.sender == self.owner, "reent: not owner"
    self.hook_target = target
    self.hook_data = data
    self.hook_on_transfer = on_transfer
    self.hook_on_transfer_from = on_transfer_from
    self.swallow = swallow
    self.armed = True


@external
def execute(target: address, data: Bytes[1024]) -> Bytes[256]:
    """
    @notice Makes this contract call `target` (e.g. fund or claim as a
            lender). Reverts if the call reverts. Deployer only.
    @return The call's return data.
    """
    assert msg.sender == self.owner, "reent: not owner"
    return raw_call(target, data, max_outsize=256)


@external
@pure
def onERC721Received(operator: address, sender: address, token_id: uint256, data: Bytes[1024]) -> bytes4:
    """
    @notice Accepts ERC-721 notes minted or sent to this contract.
    """
    return method_id("onERC721Received(address,address,uint256,bytes)", output_type=bytes4)


@external
def transfer(to: address, amount: uint256) -> bool:
    """
    @notice Moves `amount` from the caller, then fires the hook if armed for it.
    """
    self._transfer(msg.sender, to, amount)
    if self.hook_on_transfer:
        self._hook()
    return True


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    """
    @notice Moves `amount` from `owner` with the caller's allowance, then
            fires the hook if armed for it.
    """
    allowed: uint256 = self.allowance[owner][msg.sender]
    if allowed != max_value(uint256):
        assert allowed >= amount, "reent: insufficient allowance"
        self.allowance[owner][msg.sender] = allowed - amount
    self._transfer(owner, to, amount)
    if self.hook_on_transfer_from:
        self._hook()
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
    assert to != empty(address), "reent: transfer to zero"
    assert self.balanceOf[owner] >= amount, "reent: insufficient balance"
    self.balanceOf[owner] -= amount
    self.balanceOf[to] += amount
    log Transfer(sender=owner, receiver=to, value=amount)


@internal
def _hook():
    if not self.armed:
        return
    self.armed = False
    self.attempts += 1
    if self.swallow:
        success: bool = False
        response: Bytes[256] = b""
        success, response = raw_call(self.hook_target, self.hook_data, max_outsize=256, revert_on_failure=False)
        if success:
            self.successes += 1
        else:
            self.last_error = response
        log HookCalled(target=self.hook_target, success=success)
    else:
        raw_call(self.hook_target, self.hook_data)
        self.successes += 1
        log HookCalled(target=self.hook_target, success=True)
