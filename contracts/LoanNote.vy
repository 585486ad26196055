# pragma version ~=0.4.3
"""
@title Peerlend loan note (债权)
@custom:contract-name LoanNote
@license GNU Affero General Public License v3.0 only
@notice The ERC-721 note a lender receives for each funding of a loan: a
        transferable pro-rata claim on that loan's repayments. Selling a note
        (债权转让) is a plain ERC-721 transfer on any marketplace; the buyer
        then claims what the loan pays from LoanBook.

        Buyers beware: credit already paid to the loan but not yet claimed
        travels with the note, and the seller can front-run a sale by
        claiming it in the same block as (or just before) the fill. What a
        note is worth includes `LoanBook.claimable(note_id)` at the moment of
        the transfer, not when the listing was made; price on the principal
        outstanding, or fill only through an order that checks claimable.
@dev LoanBook is the only minter and burner. It lives in its own contract
     because LoanBook together with snekmate's erc721 exceeds the EIP-170
     24,576-byte code size limit. The deployer binds the book once with
     `set_book`; nothing can be minted before that, and the binding can
     never change afterwards.
"""


from ethereum.ercs import IERC165
from ethereum.ercs import IERC721
implements: IERC165
implements: IERC721

from snekmate.auth import ownable
from snekmate.tokens import erc721

initializes: ownable
initializes: erc721[ownable := ownable]

exports: (
    erc721.supportsInterface,
    erc721.name,
    erc721.symbol,
    erc721.tokenURI,
    erc721.balanceOf,
    erc721.ownerOf,
    erc721.getApproved,
    erc721.isApprovedForAll,
    erc721.approve,
    erc721.setApprovalForAll,
    erc721.transferFrom,
    erc721.safeTransferFrom,
    erc721.totalSupply,
    erc721.tokenByIndex,
    erc721.tokenOfOwnerByIndex,
    erc721.permit,
    erc721.nonces,
    erc721.DOMAIN_SEPARATOR,
    erc721.eip712Domain,
)


# @dev The LoanBook allowed to mint and burn; set once.
book: public(address)


event BookSet:
    book: indexed(address)


@deploy
def __init__(base_uri_: String[80]):
    """
    @notice Deploys the note collection "Peerlend Loan Note" (PLN).
    @param base_uri_ Base of each note's token URI (the note id is appended).
    """
    ownable.__init__()
    erc721.__init__("Peerlend Loan Note", "PLN", base_uri_, "Peerlend Loan Note", "1")


@external
def set_book(book_: address):
    """
    @notice Binds the LoanBook that mints and burns notes. Deployer only, once.
    @param book_ The LoanBook address.
    """
    assert msg.sender == ownable.owner, "note: not deployer"
    assert self.book == empty(address), "note: book already set"
    assert book_ != empty(address), "note: zero book"
    self.book = book_
    log BookSet(book=book_)


@external
def mint(receiver: address, note_id: uint256):
    """
    @notice Mints note `note_id` to `receiver` (a contract receiver must
            accept ERC-721 tokens). LoanBook only.
    @param receiver The lender.
    @param note_id The id LoanBook assigned.
    """
    assert msg.sender == self.book, "note: not book"
    erc721._safe_mint(receiver, note_id, b"")


@external
def burn(note_id: uint256):
    """
    @notice Burns a refunded note. LoanBook only.
    @param note_id The note id.
    """
    assert msg.sender == self.book, "note: not book"
    erc721._burn(note_id)


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
    owner: address = erc721._owners[note_id]
    assert owner != empty(address), "note: no such note"
    assert (
        spender == owner or erc721.isApprovedForAll[owner][spender] or erc721._token_approvals[note_id] == spender
    ), "note: not owner or approved"
    return owner
