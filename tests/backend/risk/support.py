"""A fresh anvil with the contracts deployed, driven with web3 from anvil's unlocked accounts.

Risk scenarios need a book of their own (a clean history in which each rule must or must not
fire), so each test module starts one chain; ape is connected only while deploying.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from web3 import Web3

from peerlend import abi, deployments
from peerlend.devchain import Anvil, ape_connected
from peerlend.vocabulary import DAY

UNIT = 10**6
# anvil account indexes of the roles in deployments/params/local.json
DEPLOYER, OFFICER, ATTESTER, ORACLE = 0, 1, 2, 3


@contextmanager
def deployed_chain(directory: Path):
    from ape import accounts

    from peerlend.deploy import deploy_all, load_params

    node = Anvil(accounts=30).start()
    try:
        with ape_connected(node.url):
            record = deploy_all(
                accounts.test_accounts[0], load_params("local"), reuse=False, echo=lambda *_: None
            )
        deployments.save(record, directory)
        yield Driver(node, Web3(Web3.HTTPProvider(node.url)), record, directory)
    finally:
        node.stop()


@dataclass
class Driver:
    anvil: Anvil
    w3: Web3
    record: dict
    deployments_dir: Path

    def __post_init__(self):
        self.accounts = self.w3.eth.accounts
        addresses = {name: entry["address"] for name, entry in self.record["contracts"].items()}
        self.book = self.w3.eth.contract(address=addresses["LoanBook"], abi=abi.load("LoanBook"))
        self.lens = self.w3.eth.contract(address=addresses["LoanLens"], abi=abi.load("LoanLens"))
        self.notes = self.w3.eth.contract(address=addresses["LoanNote"], abi=abi.load("LoanNote"))
        self.identity = self.w3.eth.contract(
            address=addresses["IdentityRegistry"], abi=abi.load("IdentityRegistry")
        )
        self.oracle = self.w3.eth.contract(address=addresses["CreditOracle"], abi=abi.load("CreditOracle"))
        self.token = self.w3.eth.contract(address=addresses["TestStablecoin"], abi=abi.TEST_STABLECOIN)

    @property
    def url(self) -> str:
        return self.anvil.url

    def send(self, fn, sender: str):
        receipt = self.w3.eth.wait_for_transaction_receipt(fn.transact({"from": sender}))
        assert receipt.status == 1, f"{fn.fn_name} reverted"
        return receipt

    def tx(self, receipt) -> str:
        return "0x" + bytes(receipt.transactionHash).hex()

    # time
    def now(self) -> int:
        return self.w3.eth.get_block("latest").timestamp

    def mine(self, timestamp: int) -> None:
        """A block at `timestamp`: later transactions (and their gas estimates) run after it."""
        self.w3.provider.make_request("evm_mine", [timestamp])

    at = mine

    # people
    def customer(
        self, index: int, units: int = 0, identity: int | None = None, score: int | None = None
    ) -> str:
        """Account `index`, minted `units`, approving the book, KYC'd, optionally scored."""
        account = self.accounts[index]
        if units:
            self.send(self.token.functions.mint(account, units * UNIT), self.accounts[DEPLOYER])
        self.send(self.token.functions.approve(self.book.address, 2**256 - 1), account)
        self.send(
            self.identity.functions.attest(
                account, bytes([identity or index]) * 32, self.now() + 3_650 * DAY
            ),
            self.accounts[ATTESTER],
        )
        if score is not None:
            self.send(
                self.oracle.functions.push_scores([account], [score], b"\x42" * 32, 300 * DAY),
                self.accounts[ORACLE],
            )
        return account

    # money
    def transfer(self, sender: str, receiver: str, units: int):
        return self.send(self.token.functions.transfer(receiver, units * UNIT), sender)

    def request(
        self, borrower: str, units: int, installments: int = 3, period_days: int = 30, method: int = 0
    ) -> int:
        receipt = self.send(
            self.book.functions.request_loan(
                self.token.address, units * UNIT, 1_200, installments, period_days * DAY, method, 7 * DAY
            ),
            borrower,
        )
        return self.book.events.LoanRequested().process_receipt(receipt)[0].args.loan_id

    def fund(self, loan_id: int, lender: str, units: int) -> tuple[int, object]:
        receipt = self.send(self.book.functions.fund(loan_id, units * UNIT), lender)
        return self.book.events.LoanFunded().process_receipt(receipt)[0].args.note_id, receipt

    def disburse(self, loan_id: int, who: str):
        return self.send(self.book.functions.disburse(loan_id), who)

    def start(self, loan_id: int) -> int:
        return self.book.functions.loan(loan_id).call()[self._loan_field("start")]

    def _loan_field(self, name: str) -> int:
        outputs = next(e for e in self.book.abi if e.get("name") == "loan" and e["type"] == "function")[
            "outputs"
        ]
        fields = outputs[0]["components"] if len(outputs) == 1 and outputs[0].get("components") else outputs
        return [f["name"] for f in fields].index(name)

    def due(self, loan_id: int):
        return self.lens.functions.amount_due(loan_id).call()

    def repay(self, loan_id: int, amount: int, who: str):
        return self.send(self.book.functions.repay(loan_id, amount), who)

    def mark_default(self, loan_id: int, who: str):
        return self.send(self.book.functions.mark_default(loan_id), who)

    def transfer_note(self, sender: str, receiver: str, note_id: int):
        return self.send(self.notes.functions.transferFrom(sender, receiver, note_id), sender)
