"""A credit application as the oracle service accepts it (docs/oracle_service.md), built and
signed on the borrower's side: EIP-712 typed data over the RFC 8785 canonical JSON of the
fields, with the domain and types the service publishes at `GET /signing`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click
import rfc8785
from eth_utils import keccak, to_checksum_address

PRIMARY_TYPE = "Application"


def read_fields(path: str) -> dict[str, Any]:
    """The application's fields from a JSON object file (`-` reads stdin)."""
    try:
        text = click.get_text_stream("stdin").read() if path == "-" else Path(path).read_text()
    except OSError as error:
        raise click.BadParameter(f"cannot read {path}: {error.strerror}", param_hint="--fields") from None
    try:
        fields = json.loads(text)
    except ValueError as error:
        raise click.BadParameter(f"{path} is not JSON: {error}", param_hint="--fields") from None
    if not isinstance(fields, dict) or not fields:
        raise click.BadParameter(
            f"{path} must hold a JSON object of application fields", param_hint="--fields"
        )
    return fields


def fields_hash(fields: dict[str, Any]) -> str:
    return "0x" + keccak(rfc8785.dumps(fields)).hex()


def typed_data(
    signing: dict[str, Any], applicant: str, fields: dict[str, Any], nonce: int, issued_at: int
) -> dict:
    """The EIP-712 payload for `eth_signTypedData_v4`, with the service's domain and types."""
    return {
        "types": signing["types"],
        "primaryType": signing.get("primaryType", PRIMARY_TYPE),
        "domain": signing["domain"],
        "message": {
            "applicant": to_checksum_address(applicant),
            "fieldsHash": fields_hash(fields),
            "nonce": nonce,
            "issuedAt": issued_at,
        },
    }


def new_nonce() -> int:
    """Milliseconds since 1970: grows with every submission, as the service requires."""
    return time.time_ns() // 1_000_000


def sign(account, payload: dict) -> str:
    """0x-hex 65-byte signature (r, s, v) of the typed data by an ape account."""
    from eth_account.messages import encode_typed_data

    signature = account.sign_message(encode_typed_data(full_message=payload))
    if signature is None:
        raise click.ClickException("the account declined to sign the application")
    return "0x" + signature.encode_rsv().hex().removeprefix("0x")
