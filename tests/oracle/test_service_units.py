"""Oracle service pieces that need no chain: canonical JSON, signatures, ABI slices, retries,
key loading and redaction, settings."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import requests
from eth_account import Account
from web3.exceptions import ContractLogicError

from oracle.service import abi, keys, signing
from oracle.service.canonical import canonical_json, fields_hash
from oracle.service.settings import OracleSettings
from peerlend.retry import with_retry
from peerlend.rpc import is_transient

ROOT = Path(__file__).resolve().parents[2]
ALICE = Account.from_key("0x" + "11" * 32)
MALLORY = Account.from_key("0x" + "22" * 32)


# ---------------------------------------------------------------- canonical JSON (RFC 8785)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (72000.0, "72000"),
        (67.4, "67.4"),
        (-0.0, "0"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (1.5e-7, "1.5e-7"),
        (0.000001, "0.000001"),
        (123456789012345.67, "123456789012345.67"),
        (2**53, "9007199254740992"),
        (True, "true"),
        (None, "null"),
        ('é\n"', '"é\\n\\""'),
    ],
)
def test_canonical_json_prints_values_like_jcs(value, text):
    assert canonical_json(value) == text


def test_canonical_json_sorts_keys_without_whitespace():
    assert canonical_json({"b": [1, 2.5], "a": {"d": 1, "c": "x"}}) == '{"a":{"c":"x","d":1},"b":[1,2.5]}'


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 2**60, {1: 2}, object()])
def test_canonical_json_rejects_what_jcs_cannot_represent(bad):
    with pytest.raises(ValueError):
        canonical_json(bad)


def test_fields_hash_ignores_key_order_and_int_float_spelling():
    assert fields_hash({"a": 72000.0, "b": "x"}) == fields_hash({"b": "x", "a": 72000})
    assert fields_hash({"a": 1}) != fields_hash({"a": 2})


# ---------------------------------------------------------------- signatures

FIELDS = {"annual_inc": 72000.0, "term": "term_36"}


@pytest.mark.parametrize("scheme", ["eip712", "eip191"])
def test_signature_round_trip_and_wrong_signer(scheme):
    good = signing.sign(ALICE, scheme, 31337, FIELDS, 7, 1_700_000_000)
    signing.verify(scheme, 31337, ALICE.address, FIELDS, 7, 1_700_000_000, good)
    forged = signing.sign(MALLORY, scheme, 31337, FIELDS, 7, 1_700_000_000)
    with pytest.raises(signing.SignatureError, match="not by the applicant"):
        signing.verify(scheme, 31337, ALICE.address, FIELDS, 7, 1_700_000_000, forged)
    # any change of what was signed changes the signer
    for changed in (
        (31337, {**FIELDS, "term": "term_60"}, 7, 1_700_000_000),
        (31337, FIELDS, 8, 1_700_000_000),
        (31337, FIELDS, 7, 1_700_000_001),
        (1, FIELDS, 7, 1_700_000_000),
    ):
        chain_id, fields, nonce, issued = changed
        with pytest.raises(signing.SignatureError):
            signing.verify(scheme, chain_id, ALICE.address, fields, nonce, issued, good)


@pytest.mark.parametrize("bad", ["0x1234", "zz", "0x" + "00" * 65])
def test_malformed_signatures_are_rejected(bad):
    with pytest.raises(signing.SignatureError):
        signing.verify("eip712", 31337, ALICE.address, FIELDS, 1, 1, bad)


def test_typed_data_is_exactly_the_documented_structure():
    data = signing.typed_data(31337, ALICE.address.lower(), FIELDS, 7, 1_700_000_000)
    assert data["domain"] == {"name": "Peerlend Oracle", "version": "1", "chainId": 31337}
    assert data["primaryType"] == "Application"
    assert data["types"]["Application"] == [
        {"name": "applicant", "type": "address"},
        {"name": "fieldsHash", "type": "bytes32"},
        {"name": "nonce", "type": "uint256"},
        {"name": "issuedAt", "type": "uint256"},
    ]
    assert data["message"] == {
        "applicant": ALICE.address,
        "fieldsHash": "0x" + fields_hash(FIELDS).hex(),
        "nonce": 7,
        "issuedAt": 1_700_000_000,
    }
    text = signing.personal_message(31337, ALICE.address.lower(), FIELDS, 7, 1_700_000_000)
    assert text.splitlines() == [
        "Peerlend Oracle application",
        "chain: 31337",
        f"applicant: {ALICE.address}",
        f"fields: 0x{fields_hash(FIELDS).hex()}",
        "nonce: 7",
        "issued at: 1700000000",
    ]


def test_documented_test_vector():
    """The vector printed in docs/oracle_service.md, for client implementers."""
    assert canonical_json(FIELDS) == '{"annual_inc":72000,"term":"term_36"}'
    assert "0x" + fields_hash(FIELDS).hex() == DOC_FIELDS_HASH
    assert signing.sign(ALICE, "eip712", 31337, FIELDS, 7, 1_700_000_000) == DOC_EIP712_SIGNATURE
    assert signing.sign(ALICE, "eip191", 31337, FIELDS, 7, 1_700_000_000) == DOC_EIP191_SIGNATURE
    assert ALICE.address == "0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A"


DOC_FIELDS_HASH = "0xabc4e6e83a8de7f71083f77d9e088bf27c58fb65a825207848340fd7a085e40e"
DOC_EIP712_SIGNATURE = (
    "0x0dcd24f1ebf92b1b6f6cdd222697c47f409189064e4530666af0a568fbc35463"
    "25b5761328acf0a9b23620a469b6f470498c2dee846524eb5aea6c2a79fcd2581c"
)
DOC_EIP191_SIGNATURE = (
    "0x3f6734f52c7d76c4e5d32fb7fdb151877c5faa5486e8b500211857d481da0a0c"
    "6f31e72dfcbad60e3e3e0a07ab30ae826eaa5c74253436669a5d00c17663ea591b"
)


def test_eip712_digest_matches_a_hand_computed_one():
    """EIP-712 by the spec (typeHash, hashStruct, 0x1901 prefix), not by eth-account."""
    from eth_abi import encode
    from eth_account.messages import _hash_eip191_message
    from eth_utils import keccak

    domain_type = keccak(b"EIP712Domain(string name,string version,uint256 chainId)")
    domain = keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256"],
            [domain_type, keccak(b"Peerlend Oracle"), keccak(b"1"), 31337],
        )
    )
    app_type = keccak(b"Application(address applicant,bytes32 fieldsHash,uint256 nonce,uint256 issuedAt)")
    struct = keccak(
        encode(
            ["bytes32", "address", "bytes32", "uint256", "uint256"],
            [app_type, ALICE.address, fields_hash(FIELDS), 7, 1_700_000_000],
        )
    )
    expected = keccak(b"\x19\x01" + domain + struct)
    message = signing.signable("eip712", 31337, ALICE.address, FIELDS, 7, 1_700_000_000)
    assert _hash_eip191_message(message) == expected


# ---------------------------------------------------------------- ABI slices


def test_abi_slices_match_the_compiled_contracts():
    manifest = ROOT / ".build" / "__local__.json"
    if not manifest.exists():
        pytest.skip("run `ape compile` first")
    types = json.loads(manifest.read_text())["contractTypes"]
    for name, entries in (("CreditOracle", abi.CREDIT_ORACLE_ABI), ("LoanBook", abi.LOAN_BOOK_ABI)):
        compiled = types[name]["abi"]
        for entry in entries:
            assert entry in compiled, f"{name}.{entry['name']} changed; refresh oracle/service/abi.py"


# ---------------------------------------------------------------- retries


def test_transient_errors_are_retried_with_growing_delays():
    calls, sleeps = [], []

    def flaky():
        calls.append(1)
        if len(calls) < 4:
            raise requests.ConnectionError("connection refused")
        return "ok"

    assert with_retry(flaky, what="x", retries=5, base=0.1, ceiling=10, sleep=sleeps.append) == "ok"
    assert len(calls) == 4 and len(sleeps) == 3
    assert sleeps[0] < sleeps[1] < sleeps[2]  # 0.1, 0.2, 0.4 ± 20 %


def test_retries_give_up_and_reverts_are_not_retried():
    sleeps = []

    def down():
        raise requests.Timeout("slow")

    with pytest.raises(requests.Timeout):
        with_retry(down, what="x", retries=2, base=0.1, ceiling=1, sleep=sleeps.append)
    assert len(sleeps) == 2

    def revert():
        raise ContractLogicError("execution reverted: oracle: bad ttl")

    with pytest.raises(ContractLogicError):
        with_retry(revert, what="x", retries=5, sleep=sleeps.append)
    assert len(sleeps) == 2
    assert not is_transient(ValueError("bad"))


# ---------------------------------------------------------------- keys and settings

RAW_KEY = "0x" + "ab" * 32


def test_raw_key_from_env_never_shows_in_repr_or_errors(monkeypatch):
    monkeypatch.setenv("PEERLEND_ORACLE_PRIVATE_KEY", RAW_KEY)
    settings = OracleSettings()
    assert RAW_KEY[2:] not in repr(settings) and RAW_KEY[2:] not in str(settings.model_dump())
    assert keys.load_account(settings).address == Account.from_key(RAW_KEY).address

    monkeypatch.setenv("PEERLEND_ORACLE_PRIVATE_KEY", "0x" + "cd" * 31 + "zz")
    with pytest.raises(keys.KeyLoadError) as info:
        keys.load_account(OracleSettings())
    assert "cd" * 31 not in str(info.value)


def test_keystore_with_password(tmp_path, monkeypatch):
    keyfile = tmp_path / "oracle.json"
    keyfile.write_text(json.dumps(Account.encrypt(RAW_KEY, "hunter2", iterations=2**10)))
    monkeypatch.setenv("PEERLEND_ORACLE_KEYSTORE", str(keyfile))
    monkeypatch.setenv("PEERLEND_ORACLE_PASSWORD", "hunter2")
    assert keys.load_account(OracleSettings()).address == Account.from_key(RAW_KEY).address

    monkeypatch.setenv("PEERLEND_ORACLE_PASSWORD", "wrong")
    with pytest.raises(keys.KeyLoadError, match="wrong password") as info:
        keys.load_account(OracleSettings())
    assert "wrong" not in str(info.value).replace("wrong password", "")

    monkeypatch.delenv("PEERLEND_ORACLE_PASSWORD")
    with pytest.raises(keys.KeyLoadError, match="PASSWORD is not"):
        keys.load_account(OracleSettings())

    monkeypatch.setenv("PEERLEND_ORACLE_PRIVATE_KEY", RAW_KEY)
    with pytest.raises(ValueError, match="not both"):
        OracleSettings()


def test_redaction_masks_the_key_in_log_records(caplog):
    account = Account.from_key(RAW_KEY)
    handler = logging.StreamHandler()
    logging.getLogger().addHandler(handler)
    try:
        keys.install_redaction(account)
        with caplog.at_level(logging.INFO):
            logging.getLogger("oracle.test").info("oops %s", RAW_KEY.upper()[2:])
        assert caplog.records
        assert all(RAW_KEY[2:] not in record.getMessage().lower() for record in caplog.records)
        assert "[REDACTED]" in caplog.records[-1].getMessage()
    finally:
        logging.getLogger().removeHandler(handler)


@pytest.mark.parametrize(
    ("name", "value"), [("TTL_SECONDS", "60"), ("BATCH_SIZE", "257"), ("BATCH_SIZE", "0")]
)
def test_settings_enforce_contract_limits(monkeypatch, name, value):
    monkeypatch.setenv(f"PEERLEND_ORACLE_{name}", value)
    with pytest.raises(ValueError):
        OracleSettings()
