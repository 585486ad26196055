# pragma version ~=0.4.3
# pragma optimize codesize
"""
@title Peerlend loan note (债权)
@custom:contract-name LoanNote
@license GNU Affero General Public License v3.0 only
@notice The ERC-721 note a lender receives for each funding of a loan: a
        transferable pro-rata claim on that loan's repayments. Selling a note
        (债权转让) is a plain ERC-721 transfer on any marketplace; the buyer
        then claims what the loan pays from LoanBook. `tokenURI` is on-chain
        metadata (JSON with an SVG image): loan, token, share, APR, method,
        status and what is claimable now, so any wallet shows the note
        without a server.

        Buyers beware: credit already paid to the loan but not yet claimed
        travels with the note, and the seller can front-run a sale by
        claiming it in the same block as (or just before) the fill. What a
        note is worth includes `LoanBook.claimable(note_id)` at the moment of
        the transfer, not when the listing was made; price on the principal
        outstanding, or fill only through an order that checks claimable.
@dev LoanBook is the only minter and burner: the book creates this
     collection from its blueprint when it is deployed, so the binding is
     fixed in the code (no setup step, no storage read per mint). A minimal,
     non-enumerable ERC-721 (ERC-165, ERC-721, ERC-721 Metadata): minting a
     note writes its owner and the receiver's balance, nothing else. Lists of
     notes by owner come from `Transfer` events (the indexer's API serves them).
"""


from ethereum.ercs import IERC165
implements: IERC165

from .lib import loan_math


interface IERC721Receiver:
    def onERC721Received(operator: address, owner: address, token_id: uint256, data: Bytes[1_024]) -> bytes4: nonpayable


struct Loan:
    borrower: address
    token: address
    grade: uint256
    principal: uint256
    apr_bps: uint256
    installments: uint256
    period_seconds: uint256
    method: uint256
    status: uint256
    terms: uint256
    funding_deadline: uint256
    funded: uint256
    review_ends_at: uint256
    start: uint256
    annuity: uint256
    identity_hash: bytes32
    note_total: uint256


interface ILoanBook:
    def note_count() -> uint256: view
    def note(note_id: uint256) -> loan_math.Note: view
    def loan(loan_id: uint256) -> Loan: view
    def claimable(note_id: uint256) -> uint256: view


# @dev ERC-165 interface ids: ERC-165, ERC-721, ERC-721 Metadata.
_SUPPORTED: constant(bytes4[3]) = [0x01ffc9a7, 0x80ac58cd, 0x5b5e139f]
_RECEIVED: constant(bytes4) = 0x150b7a02  # onERC721Received.selector

name: public(constant(String[18])) = "Peerlend Loan Note"
symbol: public(constant(String[3])) = "PLN"

# @dev The LoanBook that created this collection: the only minter and burner.
book: public(immutable(address))

_owners: HashMap[uint256, address]
# @dev Notes burned so far (refunds): with the book's note count it gives the supply, so a mint
# writes nothing beyond the owner and the balance.
_burned: uint256
_balances: HashMap[address, uint256]
getApproved: public(HashMap[uint256, address])
isApprovedForAll: public(HashMap[address, HashMap[address, bool]])


event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    token_id: indexed(uint256)

event Approval:
    owner: indexed(address)
    approved: indexed(address)
    token_id: indexed(uint256)

event ApprovalForAll:
    owner: indexed(address)
    operator: indexed(address)
    approved: bool

@deploy
def __init__():
    """
    @notice Created by LoanBook's constructor (from this contract's blueprint):
            "Peerlend Loan Note" (PLN), minted and burned by that book only.
    """
    book = msg.sender


# ---------------------------------------------------------------------------
# ERC-721
# ---------------------------------------------------------------------------


@external
@view
def supportsInterface(interface_id: bytes4) -> bool:
    """
    @notice ERC-165: ERC-165, ERC-721 and ERC-721 Metadata.
    @param interface_id The interface identifier.
    @return Whether it is supported.
    """
    return interface_id in _SUPPORTED


@external
@view
def balanceOf(owner: address) -> uint256:
    """
    @notice How many notes `owner` holds.
    @param owner A nonzero address.
    @return The count.
    """
    assert owner != empty(address), "note: zero address"
    return self._balances[owner]


@external
@view
def ownerOf(token_id: uint256) -> address:
    """
    @notice The owner of note `token_id`.
    @param token_id The note id.
    @return The owner; reverts "note: no such note" for an unminted or burned id.
    """
    owner: address = self._owners[token_id]
    assert owner != empty(address), "note: no such note"
    return owner


@external
@view
def totalSupply() -> uint256:
    """
    @notice Notes in existence: minted by the book less those burned by refunds.
    @return The count.
    """
    return staticcall ILoanBook(book).note_count() - self._burned


@external
def approve(approved: address, token_id: uint256):
    """
    @notice Lets `approved` transfer (and claim or refund) note `token_id`.
    @param approved The account, or the zero address to clear.
    @param token_id The note id; the caller must own it or be its owner's operator.
    """
    owner: address = self._owners[token_id]
    assert owner != empty(address), "note: no such note"
    assert approved != owner, "note: approval to owner"
    assert msg.sender == owner or self.isApprovedForAll[owner][msg.sender], "note: not owner or operator"
    self.getApproved[token_id] = approved
    log Approval(owner=owner, approved=approved, token_id=token_id)


@external
def setApprovalForAll(operator: address, approved: bool):
    """
    @notice Lets `operator` manage all of the caller's notes.
    @param operator The operator.
    @param approved True to allow, False to revoke.
    """
    assert operator != msg.sender, "note: approve to caller"
    self.isApprovedForAll[msg.sender][operator] = approved
    log ApprovalForAll(owner=msg.sender, operator=operator, approved=approved)


@external
def transferFrom(owner: address, to: address, token_id: uint256):
    """
    @notice Moves note `token_id` from `owner` to `to` (债权转让). Unclaimed credit moves with it.
    @param owner The current owner.
    @param to The receiver (nonzero).
    @param token_id The note id; the caller must be the owner, approved or an operator.
    """
    self._transfer(owner, to, token_id)


@external
def safeTransferFrom(owner: address, to: address, token_id: uint256, data: Bytes[1_024] = b""):
    """
    @notice `transferFrom`, then a contract receiver must accept the note
            (onERC721Received), or the transfer reverts
            "note: receiver does not accept notes".
    @param owner The current owner.
    @param to The receiver.
    @param token_id The note id.
    @param data Passed to the receiver.
    """
    self._transfer(owner, to, token_id)
    self._check_receiver(owner, to, token_id, data)


@external
@view
def tokenURI(token_id: uint256) -> String[4_096]:
    """
    @notice On-chain ERC-721 metadata: a `data:application/json` URI with the
            note's name, description, an SVG image and attributes (loan id,
            token, share, APR, method, status, claimable now).
    @param token_id The note id; reverts "note: no such note" if not minted or burned.
    @return The data URI.
    """
    assert self._owners[token_id] != empty(address), "note: no such note"
    position: loan_math.Note = staticcall ILoanBook(book).note(token_id)
    record: Loan = staticcall ILoanBook(book).loan(position.loan_id)
    claimable: String[78] = uint2str(staticcall ILoanBook(book).claimable(token_id))
    note_id: String[78] = uint2str(token_id)
    loan_id: String[78] = uint2str(position.loan_id)
    share: String[78] = uint2str(position.share)
    apr: String[160] = self._percent(record.apr_bps)
    method: String[17] = self._method(record.method)
    status: String[9] = self._status(record.status)
    token: String[42] = self._hex(record.token)
    svg: String[1_400] = concat(
        "<svg xmlns='http://www.w3.org/2000/svg' width='350' height='200' viewBox='0 0 350 200'>",
        "<rect width='350' height='200' rx='12' fill='midnightblue'/>",
        "<text x='20' y='40' fill='white' font-family='monospace' font-size='20'>Peerlend note ",
        note_id,
        "</text><text x='20' y='75' fill='white' font-family='monospace' font-size='13'>loan ",
        loan_id,
        " - ",
        status,
        " - ",
        method,
        "</text><text x='20' y='100' fill='white' font-family='monospace' font-size='13'>share ",
        share,
        " at ",
        apr,
        " APR</text><text x='20' y='125' fill='white' font-family='monospace' font-size='13'>claimable ",
        claimable,
        "</text><text x='20' y='170' fill='lightgray' font-family='monospace' font-size='8'>",
        token,
        "</text></svg>",
    )
    return concat(
        'data:application/json;utf8,{"name":"Peerlend Loan Note #',
        note_id,
        '","description":"A pro-rata claim on the repayments of Peerlend loan ',
        loan_id,
        ". Unclaimed credit travels with the note: check claimable at the moment you buy.",
        '","image":"data:image/svg+xml;utf8,',
        svg,
        '","attributes":[{"trait_type":"loan id","value":',
        loan_id,
        '},{"trait_type":"token","value":"',
        token,
        '"},{"trait_type":"share","value":',
        share,
        '},{"trait_type":"APR","value":"',
        apr,
        '"},{"trait_type":"method","value":"',
        method,
        '"},{"trait_type":"status","value":"',
        status,
        '"},{"trait_type":"claimable","value":',
        claimable,
        "}]}",
    )


# ---------------------------------------------------------------------------
# LoanBook
# ---------------------------------------------------------------------------


@external
def mint(receiver: address, note_id: uint256):
    """
    @notice Mints note `note_id` to `receiver` (a contract receiver must
            accept ERC-721 tokens). LoanBook only.
    @param receiver The lender.
    @param note_id The id LoanBook assigned.
    """
    assert msg.sender == book, "note: not book"
    assert receiver != empty(address), "note: mint to zero address"
    assert self._owners[note_id] == empty(address), "note: already minted"
    self._owners[note_id] = receiver
    self._balances[receiver] += 1
    log Transfer(sender=empty(address), receiver=receiver, token_id=note_id)
    self._check_receiver(empty(address), receiver, note_id, b"")


@external
def burn(note_id: uint256):
    """
    @notice Burns a refunded note. LoanBook only.
    @param note_id The note id.
    """
    assert msg.sender == book, "note: not book"
    owner: address = self._owners[note_id]
    assert owner != empty(address), "note: no such note"
    self._owners[note_id] = empty(address)
    self._balances[owner] -= 1
    self._burned += 1
    self.getApproved[note_id] = empty(address)
    log Transfer(sender=owner, receiver=empty(address), token_id=note_id)


@external
@view
def authorized_owner(spender: address, note_id: uint256) -> address:
    """
    @notice The owner of `note_id`, if `spender` is that owner or approved
            for the note; reverts otherwise. LoanBook uses it to let owners
            and their operators claim and refund.
    @param spender The account acting on the note.
    @param note_id The note id.
    @return The note's current owner.
    """
    owner: address = self._owners[note_id]
    assert owner != empty(address), "note: no such note"
    assert (
        spender == owner or self.isApprovedForAll[owner][spender] or self.getApproved[note_id] == spender
    ), "note: not owner or approved"
    return owner


# ---------------------------------------------------------------------------
# Internal
# ---------------------------------------------------------------------------


@internal
def _transfer(owner: address, to: address, token_id: uint256):
    current: address = self._owners[token_id]
    assert current != empty(address), "note: no such note"
    assert current == owner, "note: owner mismatch"
    assert to != empty(address), "note: transfer to zero address"
    assert (
        msg.sender == owner or self.isApprovedForAll[owner][msg.sender] or self.getApproved[token_id] == msg.sender
    ), "note: not owner or approved"
    self.getApproved[token_id] = empty(address)
    self._owners[token_id] = to
    self._balances[owner] -= 1
    self._balances[to] += 1
    log Transfer(sender=owner, receiver=to, token_id=token_id)


@internal
def _check_receiver(owner: address, to: address, token_id: uint256, data: Bytes[1_024]):
    """
    @dev A contract receiver must implement onERC721Received and return its
         selector; a plain account always accepts. Any failure, including a
         receiver without the function, reverts with one readable reason.
    """
    if not to.is_contract:
        return
    success: bool = False
    response: Bytes[32] = b""
    success, response = raw_call(
        to,
        abi_encode(msg.sender, owner, token_id, data, method_id=method_id("onERC721Received(address,address,uint256,bytes)")),
        max_outsize=32,
        revert_on_failure=False,
    )
    assert success and len(response) == 32 and convert(slice(response, 0, 4), bytes4) == _RECEIVED, "note: receiver does not accept notes"


@internal
@pure
def _percent(bps: uint256) -> String[160]:
    """
    @dev Basis points as a percentage with two decimals: 1250 -> "12.50%".
    """
    cents: uint256 = bps % 100
    pad: String[1] = ""
    if cents < 10:
        pad = "0"
    return concat(uint2str(bps // 100), ".", pad, uint2str(cents), "%")


@internal
@pure
def _method(method: uint256) -> String[17]:
    if method == 0:
        return "EQUAL_INSTALLMENT"
    if method == 1:
        return "EQUAL_PRINCIPAL"
    if method == 2:
        return "INTEREST_ONLY"
    return "BULLET"


@internal
@pure
def _status(status: uint256) -> String[9]:
    if status == loan_math.OPEN:
        return "OPEN"
    if status == loan_math.FUNDED:
        return "FUNDED"
    if status == loan_math.ACTIVE:
        return "ACTIVE"
    if status == loan_math.REPAID:
        return "REPAID"
    if status == loan_math.DEFAULTED:
        return "DEFAULTED"
    if status == loan_math.CANCELLED:
        return "CANCELLED"
    return "EXPIRED"


@internal
@pure
def _hex(account: address) -> String[42]:
    """
    @dev `account` as 0x-prefixed lower-case hex: two halves of 20 digits,
         each packed as ASCII into a word.
    """
    value: uint256 = convert(account, uint256)
    halves: uint256[2] = [0, 0]
    for h: uint256 in range(2):
        packed: uint256 = 0
        for i: uint256 in range(20):
            nibble: uint256 = (value >> (4 * (39 - 20 * h - i))) & 15
            ascii: uint256 = 48 + nibble
            if nibble > 9:
                ascii = 87 + nibble
            packed = (packed << 8) | ascii
        halves[h] = packed
    digits: Bytes[42] = concat(
        b"0x", slice(convert(halves[0] << 96, bytes32), 0, 20), slice(convert(halves[1] << 96, bytes32), 0, 20)
    )
    return convert(digits, String[42])
