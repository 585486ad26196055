"""The oracle's signing key: from an encrypted keystore (production) or a raw env key (dev only).

The key lives only inside the `LocalAccount` this module returns. It is never logged, never put
into an exception message (errors from eth-account are replaced by generic ones, without
chaining), never written to the database. As a second line of defence, `install_redaction`
adds a logging filter that masks the key's hex form should it ever reach a log record.
"""

from __future__ import annotations

import json
import logging

from eth_account import Account
from eth_account.signers.local import LocalAccount

from oracle.service.settings import OracleSettings

log = logging.getLogger(__name__)


class KeyLoadError(RuntimeError):
    """The key could not be loaded. The message never contains key material."""


def load_account(settings: OracleSettings) -> LocalAccount:
    if settings.keystore is not None:
        if settings.password is None:
            raise KeyLoadError("PEERLEND_ORACLE_KEYSTORE is set but PEERLEND_ORACLE_PASSWORD is not")
        try:
            keyfile = json.loads(settings.keystore.read_text())
        except (OSError, ValueError):
            raise KeyLoadError(f"cannot read keystore {settings.keystore}") from None
        try:
            key = Account.decrypt(keyfile, settings.password.get_secret_value())
        except Exception:  # wrong password, bad MAC, unsupported KDF: never echo details
            raise KeyLoadError(f"cannot decrypt keystore {settings.keystore} (wrong password?)") from None
        account = Account.from_key(key)
        source = f"keystore {settings.keystore}"
    elif settings.private_key is not None:
        try:
            account = Account.from_key(settings.private_key.get_secret_value().strip())
        except Exception:
            raise KeyLoadError("PEERLEND_ORACLE_PRIVATE_KEY is not a valid private key") from None
        source = "PEERLEND_ORACLE_PRIVATE_KEY (development only)"
    else:
        raise KeyLoadError("no oracle key: set PEERLEND_ORACLE_KEYSTORE + PEERLEND_ORACLE_PASSWORD")
    install_redaction(account)
    log.info("oracle signer %s loaded from %s", account.address, source)
    return account


class _Redact(logging.Filter):
    def __init__(self, secrets: list[str]):
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        lowered = message.lower()
        if any(secret in lowered for secret in self.secrets):
            for secret in self.secrets:
                index = lowered.find(secret)
                while index != -1:
                    message = message[:index] + "[REDACTED]" + message[index + len(secret) :]
                    lowered = message.lower()
                    index = lowered.find(secret)
            record.msg, record.args = message, None
        return True


def install_redaction(account: LocalAccount) -> None:
    """Masks the key's hex (with or without 0x) in every record reaching the root handlers."""
    secret = account.key.hex().lower().removeprefix("0x")
    flt = _Redact([secret])
    for handler in logging.getLogger().handlers:
        handler.addFilter(flt)
    logging.getLogger().addFilter(flt)
