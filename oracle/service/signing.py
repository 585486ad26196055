"""What an applicant signs, and how the service checks it.

Two schemes, both recovered with eth-account:

* `eip712` (default) — typed data, `eth_signTypedData_v4`:

      domain  = {name: "Peerlend Oracle", version: "1", chainId: <chain id>}
      types   = {Application: [{name: "applicant",  type: "address"},
                               {name: "fieldsHash", type: "bytes32"},
                               {name: "nonce",      type: "uint256"},
                               {name: "issuedAt",   type: "uint256"}]}
      message = {applicant, fieldsHash: keccak256(utf8(JCS(fields))), nonce, issuedAt}

* `eip191` — `personal_sign` of this exact text (LF line ends, no trailing newline):

      Peerlend Oracle application
      chain: <chain id>
      applicant: <address, EIP-55 checksummed>
      fields: <fieldsHash, 0x + 64 lowercase hex>
      nonce: <nonce, decimal>
      issued at: <issuedAt, decimal unix seconds>

`nonce` must grow with each submission of the same applicant; `issuedAt` must be recent.
"""

from __future__ import annotations

from typing import Any, Literal

from eth_account import Account
from eth_account.messages import SignableMessage, encode_defunct, encode_typed_data
from eth_utils import to_checksum_address

from oracle.service.canonical import fields_hash

DOMAIN_NAME = "Peerlend Oracle"
DOMAIN_VERSION = "1"
Scheme = Literal["eip712", "eip191"]

APPLICATION_TYPES = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
    ],
    "Application": [
        {"name": "applicant", "type": "address"},
        {"name": "fieldsHash", "type": "bytes32"},
        {"name": "nonce", "type": "uint256"},
        {"name": "issuedAt", "type": "uint256"},
    ],
}


class SignatureError(ValueError):
    """The signature is malformed or was not made by the claimed applicant."""


def typed_data(chain_id: int, applicant: str, fields: dict[str, Any], nonce: int, issued_at: int) -> dict:
    """The full EIP-712 payload (what a wallet's eth_signTypedData_v4 receives)."""
    return {
        "types": APPLICATION_TYPES,
        "primaryType": "Application",
        "domain": {"name": DOMAIN_NAME, "version": DOMAIN_VERSION, "chainId": chain_id},
        "message": {
            "applicant": to_checksum_address(applicant),
            "fieldsHash": "0x" + fields_hash(fields).hex(),
            "nonce": nonce,
            "issuedAt": issued_at,
        },
    }


def personal_message(
    chain_id: int, applicant: str, fields: dict[str, Any], nonce: int, issued_at: int
) -> str:
    """The exact text an EIP-191 (personal_sign) applicant signs."""
    return "\n".join(
        [
            "Peerlend Oracle application",
            f"chain: {chain_id}",
            f"applicant: {to_checksum_address(applicant)}",
            f"fields: 0x{fields_hash(fields).hex()}",
            f"nonce: {nonce}",
            f"issued at: {issued_at}",
        ]
    )


def signable(
    scheme: Scheme, chain_id: int, applicant: str, fields: dict, nonce: int, issued_at: int
) -> SignableMessage:
    if scheme == "eip712":
        return encode_typed_data(full_message=typed_data(chain_id, applicant, fields, nonce, issued_at))
    if scheme == "eip191":
        return encode_defunct(text=personal_message(chain_id, applicant, fields, nonce, issued_at))
    raise SignatureError(f"unknown signature scheme {scheme!r}")


def recover(
    scheme: Scheme, chain_id: int, applicant: str, fields: dict, nonce: int, issued_at: int, signature: str
) -> str:
    """The checksummed address that signed; raises SignatureError if the signature is malformed."""
    try:
        raw = bytes.fromhex(signature.removeprefix("0x"))
    except ValueError:
        raise SignatureError("signature is not hex") from None
    if len(raw) != 65:
        raise SignatureError("signature must be 65 bytes (r, s, v)")
    message = signable(scheme, chain_id, applicant, fields, nonce, issued_at)
    try:
        return Account.recover_message(message, signature=raw)
    except Exception:  # bad v, s out of range, point not on curve
        raise SignatureError("signature is invalid") from None


def verify(
    scheme: Scheme, chain_id: int, applicant: str, fields: dict, nonce: int, issued_at: int, signature: str
) -> None:
    """Raises SignatureError unless `applicant` made `signature` over these fields."""
    signer = recover(scheme, chain_id, applicant, fields, nonce, issued_at, signature)
    if signer != to_checksum_address(applicant):
        raise SignatureError(
            f"signature was made by {signer}, not by the applicant {to_checksum_address(applicant)}"
        )


def sign(account, scheme: Scheme, chain_id: int, fields: dict, nonce: int, issued_at: int) -> str:
    """Client side (tests, scripts): the 0x-hex signature of `account` over an application."""
    message = signable(scheme, chain_id, account.address, fields, nonce, issued_at)
    return "0x" + account.sign_message(message).signature.hex().removeprefix("0x")
