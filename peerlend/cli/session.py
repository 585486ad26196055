"""One CLI invocation's connection to the chain: where the node is, which deployment record
describes it, the contracts, the signing account, and how transactions are checked and sent.

Reads and pre-flight checks go through web3.py straight to the node (fast, no ape start-up,
exact revert strings). Only signing and sending go through ape, so any ape account works:
keystores, hardware wallets through ape plugins, `TEST::N` on a local chain.

Every transaction is first run as an `eth_call` from the signer: a transaction that would
revert is reported as one line and never sent, so it costs no gas.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import click
from eth_utils import is_address, to_checksum_address

from peerlend import abi, deployments
from peerlend.cli.display import Money

with warnings.catch_warnings():  # pydantic-settings warns about its own fields when imported
    warnings.simplefilter("ignore")
    from peerlend.settings import is_local_chain

RPC_ENV = "PEERLEND_RPC_URL"
ANVIL_PORT_ENV = "PEERLEND_ANVIL_PORT"
ORACLE_URL_ENV = "PEERLEND_ORACLE_URL"
ORACLE_PORT_ENV = "PEERLEND_ORACLE_PORT"
# A checkout's own deployments folder: where `make demo` and `ape run deploy` write records.
CHECKOUT_DEPLOYMENTS = Path(__file__).resolve().parents[2] / "deployments"
MAX_TEST_ACCOUNT = 2**31 - 1  # BIP-32 non-hardened index
WHERE_ELSE = "--rpc URL (or $PEERLEND_RPC_URL), or --network for an ape network such as ethereum:sepolia:node"

# Gas sent above the node's estimate (see Session.send).
GAS_HEADROOM_PERCENT = 20


def default_rpc_url() -> str:
    """$PEERLEND_RPC_URL, else the demo's anvil: http://127.0.0.1:$PEERLEND_ANVIL_PORT (8545)."""
    return os.environ.get(RPC_ENV) or f"http://127.0.0.1:{os.environ.get(ANVIL_PORT_ENV) or 8545}"


def default_oracle_url() -> str:
    """$PEERLEND_ORACLE_URL, else the demo's oracle service on $PEERLEND_ORACLE_PORT (8100)."""
    return os.environ.get(ORACLE_URL_ENV) or f"http://127.0.0.1:{os.environ.get(ORACLE_PORT_ENV) or 8100}"


class CliError(click.ClickException):
    """A failure the user can act on: printed as one line, exit code 1."""

    def show(self, file=None) -> None:
        click.echo(f"error: {self.message}", err=True)


class Revert(Exception):
    """The contract refused: `reason` is its revert string ("loanbook: not open")."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def address_argument(text: str, what: str) -> str:
    if not isinstance(text, str) or not is_address(text.strip()):
        raise click.BadParameter(f"{text!r} is not an address (0x and 40 hex digits)", param_hint=what)
    if int(text.strip(), 16) == 0:
        raise click.BadParameter("the zero address is nobody's account", param_hint=what)
    return to_checksum_address(text.strip())


def revert_reason(error: Exception) -> str:
    """The revert string of a web3 or ape error, without the node's 'execution reverted: '."""
    data = getattr(error, "data", None)
    if isinstance(data, str) and data.startswith("0x08c379a0"):
        from eth_abi import decode

        with contextlib.suppress(Exception):
            return decode(["string"], bytes.fromhex(data[10:]))[0]
    message = getattr(error, "revert_message", None) or getattr(error, "message", None) or str(error)
    message = str(message).splitlines()[0] if str(message) else type(error).__name__
    return message.removeprefix("execution reverted: ").removeprefix("execution reverted").strip() or (
        "reverted without a reason"
    )


def network_words(error: Exception) -> str:
    """A network failure in a few words, not urllib3's retry report."""
    text = str(error)
    for marker, words in (
        ("Connection refused", "connection refused"),
        ("Name or service not known", "unknown host"),
        ("nodename nor servname", "unknown host"),
        ("timed out", "timed out"),
        ("Read timed out", "timed out"),
    ):
        if marker in text:
            return words
    return type(error).__name__


@dataclass(frozen=True)
class Token:
    contract: Any
    symbol: str
    decimals: int

    @property
    def address(self) -> str:
        return self.contract.address

    @property
    def money(self) -> Money:
        return Money(self.symbol, self.decimals)


class Session:
    """Connects lazily: commands that fail on their arguments never touch the network."""

    def __init__(
        self,
        rpc_url: str | None,
        network: str | None,
        account_alias: str | None,
        deployments_dir: str | None,
        oracle_url: str | None = None,
        verbose: bool = False,
    ):
        self.rpc_url = rpc_url or default_rpc_url()
        self.network = network
        self.account_alias = account_alias
        self.deployments_dir = deployments_dir
        self.oracle_url = (oracle_url or default_oracle_url()).rstrip("/")
        self.verbose = verbose
        self._tokens: dict[str, Token] = {}
        self._ape_context = None

    # ------------------------------------------------------------ node

    @property
    def where(self) -> str:
        return self.network or self.rpc_url

    @cached_property
    def w3(self):
        if self.network:
            self.connect_ape()
            from ape import chain

            return chain.provider.web3
        from web3 import Web3

        if not self.rpc_url.startswith(("http://", "https://")):
            raise CliError(f"--rpc must be an http(s) URL, got {self.rpc_url!r}")
        return Web3(Web3.HTTPProvider(self.rpc_url, request_kwargs={"timeout": 10}))

    @cached_property
    def chain_id(self) -> int:
        try:
            return int(self.w3.eth.chain_id)
        except CliError:
            raise
        except Exception as error:
            raise CliError(
                f"no chain answers at {self.where} ({network_words(error)}): start the demo with `make demo`, "
                f"or point the CLI at a node with {WHERE_ELSE}"
            ) from None

    def now(self) -> int:
        """The chain's clock (the latest block's timestamp): the demo moves it ahead of the wall."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

    # ------------------------------------------------------------ deployment

    @cached_property
    def deployment(self) -> deployments.Deployment:
        chain_id = self.chain_id
        if self.deployments_dir:
            folders = [Path(self.deployments_dir)]
        elif os.environ.get(deployments.DIRECTORY_ENV):
            folders = [Path(os.environ[deployments.DIRECTORY_ENV])]
        else:
            folders = list(dict.fromkeys([Path.cwd() / "deployments", CHECKOUT_DEPLOYMENTS]))
        candidates = [folder / f"{chain_id}.json" for folder in folders]
        for path in candidates:
            if path.is_file():
                try:
                    found = deployments.load_deployment(chain_id, path)
                except (deployments.DeploymentError, ValueError, KeyError) as error:
                    raise CliError(f"bad deployment record {path}: {error}") from None
                break
        else:
            looked = ", ".join(str(path) for path in candidates)
            raise CliError(
                f"no Peerlend deployment for chain {chain_id} at {self.where} (looked for {looked}): "
                "deploy with `ape run deploy`, or name the folder with --deployments DIR "
                "($PEERLEND_DEPLOYMENTS_DIR)"
            )
        if self.w3.eth.get_code(found.book) in (b"", b"\x00"):
            raise CliError(
                f"{found.path} names LoanBook {found.book}, but chain {chain_id} at {self.where} has no "
                "contract there: the record is from an earlier chain (rerun `make demo` or `ape run deploy`)"
            )
        return found

    def has(self, name: str) -> bool:
        return name in self.deployment.record.get("contracts", {})

    def contract(self, name: str):
        return self._contract(self.deployment.address(name), abi.load(name))

    def _contract(self, address: str, entries: list):
        return self.w3.eth.contract(address=address, abi=entries, decode_tuples=True)

    @property
    def book(self):
        return self.contract("LoanBook")

    @property
    def lens(self):
        """The contract with the book's read-only views (`amount_due`, `schedule`): LoanLens
        where one is deployed, else LoanBook itself."""
        if self.has("LoanLens"):
            try:
                return self.contract("LoanLens")
            except FileNotFoundError:
                pass
        return self.book

    def token(self, address: str | None = None) -> Token:
        if address is None:
            if not self.deployment.tokens:
                raise CliError("the deployment record lists no token; pass --token ADDRESS")
            address = self.deployment.tokens[0]
        address = to_checksum_address(address)
        if address not in self._tokens:
            contract = self._contract(address, abi.ERC20)
            try:
                symbol, decimals = contract.functions.symbol().call(), contract.functions.decimals().call()
            except Exception:
                raise CliError(f"{address} is not an ERC-20 token on chain {self.chain_id}") from None
            self._tokens[address] = Token(contract, symbol, int(decimals))
        return self._tokens[address]

    def loan(self, loan_id: int):
        """The loan's record; a loan that does not exist is an error naming the last loan id."""
        record = self._read_or_none(self.book.functions.loan(loan_id))
        if record is None or record.status == 0:
            count = self.book.functions.loan_count().call()
            known = f"the book has loans 1 to {count}" if count else "the book has no loans yet"
            raise CliError(f"no loan {loan_id} ({known})")
        return record

    @staticmethod
    def _read_or_none(function):
        """A view's answer, or None where the view reverts for an unknown id ("no such loan")."""
        from web3.exceptions import ContractLogicError

        try:
            return function.call()
        except ContractLogicError:
            return None

    def note(self, note_id: int):
        record = self._read_or_none(self.book.functions.note(note_id))
        if record is None or record.loan_id == 0:
            count = self.book.functions.note_count().call()
            known = f"notes run from 1 to {count}" if count else "no notes exist yet"
            raise CliError(f"no note {note_id} ({known})")
        return record

    # ------------------------------------------------------------ accounts

    @cached_property
    def test_index(self) -> int | None:
        alias = self.account_alias or ""
        if not alias.upper().startswith("TEST::"):
            return None
        text = alias.split("::", 1)[1]
        if not text.isdigit() or len(text) > 10 or int(text) > MAX_TEST_ACCOUNT:
            raise click.BadParameter(
                f"{alias!r}: test accounts are TEST::0, TEST::1, … (the demo uses TEST::0 to TEST::19)",
                param_hint="--account",
            )
        return int(text)

    def require_account(self, why: str = "this command signs a transaction") -> None:
        if not self.account_alias:
            raise CliError(f"{why}: pass --account ALIAS (`ape accounts list`, or TEST::N on a local chain)")
        if self.test_index is not None and not is_local_chain(self.chain_id):
            raise CliError(
                f"{self.account_alias} exists only on local chains (31337, 1337), not on chain {self.chain_id}"
            )

    @cached_property
    def address(self) -> str:
        """The account's address, without unlocking it (no ape needed for TEST::N)."""
        self.require_account()
        if self.test_index is not None:
            from eth_account import Account

            from peerlend.devchain import TEST_MNEMONIC

            Account.enable_unaudited_hdwallet_features()
            path = f"m/44'/60'/0'/0/{self.test_index}"
            return Account.from_mnemonic(TEST_MNEMONIC, account_path=path).address
        return to_checksum_address(self.account.address)

    @cached_property
    def account(self):
        """The ape account that signs (a keystore asks for its passphrase when it signs)."""
        self.require_account()
        self.connect_ape()
        from ape import accounts

        try:
            if self.test_index is not None:
                test = accounts.test_accounts
                if self.test_index < len(test):
                    return test[self.test_index]
                return test.generate_account(index=self.test_index)
            return accounts.load(self.account_alias)
        except Exception as error:
            first = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise CliError(
                f"cannot load account {self.account_alias!r}: {first} (see `ape accounts list`)"
            ) from None

    # ------------------------------------------------------------ ape

    def connect_ape(self) -> None:
        if self._ape_context is not None:
            return
        quiet_ape(self.verbose)
        from ape import networks

        choice = self.network or self.rpc_url
        if not self.network:
            self.chain_id  # noqa: B018 - fail with our one line before ape retries a dead node
        try:
            with captured(self.verbose):
                context = networks.parse_network_choice(choice)
                context.__enter__()
        except Exception as error:
            first = (
                str(error).splitlines()[0].split(" Options:")[0][:160] if str(error) else type(error).__name__
            )
            raise CliError(
                f"cannot connect to {choice}: {first} (the choices: `ape networks list`; or a node's URL with --rpc)"
            ) from None
        self._ape_context = context

    def close(self) -> None:
        if self._ape_context is not None:
            with contextlib.suppress(Exception), captured(self.verbose):
                self._ape_context.__exit__(None, None, None)
            self._ape_context = None

    # ------------------------------------------------------------ transactions

    def simulate(self, function, sender: str | None = None):
        """Runs a contract function as an eth_call from `sender`; raises Revert with its reason."""
        try:
            return function.call({"from": sender or self.address})
        except Exception as error:
            from web3.exceptions import ContractLogicError, ContractPanicError

            if isinstance(error, ContractLogicError | ContractPanicError):
                raise Revert(revert_reason(error)) from None
            raise CliError(f"the node at {self.where} failed the check: {revert_reason(error)}") from None

    def send(self, description: str, function) -> Any:
        """Signs and sends `function` (a web3 contract function with its arguments) with the
        account through ape; returns the web3 receipt. Progress goes to stderr."""
        account = self.account
        from ape import Contract
        from ape.exceptions import ApeException

        entries = [entry for entry in function.contract_abi if entry.get("type") == "function"]
        click.echo(f"{description} … waiting for confirmation", err=True)
        try:
            # The node's estimate is the least gas that worked in the block it was made for; the
            # block the transaction lands in can cost more (interest accrues by the second, so a
            # repayment's path moves), and a payoff short of gas fails at its last write. Only
            # the gas used is paid for.
            estimate = function.estimate_gas({"from": account.address})
            gas = estimate * (100 + GAS_HEADROOM_PERCENT) // 100
            with captured(self.verbose):
                instance = Contract(function.address, abi=entries)
                receipt = getattr(instance, function.fn_name)(*function.args, sender=account, gas=gas)
        except ApeException as error:
            raise CliError(f"the transaction failed: {revert_reason(error)}") from None
        except KeyboardInterrupt:
            raise
        except Exception as error:  # a hardware wallet or keystore refusing to sign, a dropped node
            first = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise CliError(f"the transaction was not sent: {first}") from None
        click.echo(f"   confirmed in block {receipt.block_number} (tx {receipt.txn_hash})", err=True)
        return self.w3.eth.get_transaction_receipt(receipt.txn_hash)

    def events(self, receipt, contract, name: str) -> list:
        from web3.logs import DISCARD

        return list(getattr(contract.events, name)().process_receipt(receipt, errors=DISCARD))


def quiet_ape(verbose: bool) -> None:
    """ape logs INFO lines and prints a call trace on every revert: keep them for --verbose."""
    import warnings

    warnings.filterwarnings("ignore", message=".*IncompleteFieldDefinition.*")
    warnings.filterwarnings("ignore", category=UserWarning, module="pydantic.*")
    from ape.logging import logger

    logger.set_level("DEBUG" if verbose else "ERROR")


@contextlib.contextmanager
def captured(verbose: bool):
    """ape writes call traces to the stdout it saw at import; hold ape's output back unless
    --verbose, where it goes to stderr."""
    if verbose:
        with contextlib.redirect_stdout(sys.stderr):
            yield
        return
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink):
        try:
            import ape_ethereum.provider as ape_provider

            original = ape_provider._get_trace_from_revert_kwargs
            ape_provider._get_trace_from_revert_kwargs = lambda **_: None  # ape prints it unconditionally
        except (ImportError, AttributeError):
            original = None
        try:
            yield
        finally:
            if original is not None:
                ape_provider._get_trace_from_revert_kwargs = original
