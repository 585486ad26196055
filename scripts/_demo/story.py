"""The Peerlend demo story, on a fresh local chain, with real contracts and real numbers.

Cast (anvil test accounts): 0 platform admin, 1 risk officer, 2 KYC attester, 3 oracle
service key, 4–6 borrowers (Ada, Bo, Cai), 7–8 and 10–12 lenders; 9 is the treasury.

1. Deploy, KYC three borrowers and five lenders, seed the risk reserve.
2. Score the borrowers with the credit model (trained on Lending Club data) and push the scores.
3. Five requests with different methods and grades; lenders fund in parts.
   - loan A (Ada, 等额本息) is repaid, one installment late with a penalty;
   - loan B (Bo, 等额本金) is repaid; one note is sold to another lender, who claims (债权转让);
   - loan C (Cai, 到期还本付息) defaults and the reserve covers part of it;
   - loan D (Bo, 先息后本) does not fill and expires: lenders are refunded (流标);
   - loan E (Ada) fills but is vetoed by the risk officer in review (满标复审): refunded.
4. Lenders claim, and a summary per loan and per lender is printed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from peerlend.vocabulary import DAY, Grade, LoanStatus, Method

UNIT = 10**6  # the test stablecoin has 6 decimals
EQUAL_INSTALLMENT, EQUAL_PRINCIPAL, INTEREST_ONLY, BULLET = Method


def money(amount: int) -> str:
    return f"{Decimal(amount) / UNIT:,.2f}"


@dataclass
class Cast:
    admin: Any
    risk_officer: Any
    attester: Any
    oracle_key: Any
    treasury: Any
    borrowers: dict[str, Any]
    lenders: dict[str, Any]


@dataclass
class Story:
    contracts: dict[str, Any]
    record: dict[str, Any]
    cast: Cast
    loans: dict[str, int] = field(default_factory=dict)
    notes: dict[str, list[int]] = field(default_factory=dict)
    scores: dict[str, Any] = field(default_factory=dict)
    sales: list[dict[str, Any]] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    def say(self, line: str, echo) -> None:
        self.log.append(line)
        echo(line)


def make_cast(accounts) -> Cast:
    test = accounts.test_accounts
    return Cast(
        admin=test[0],
        risk_officer=test[1],
        attester=test[2],
        oracle_key=test[3],
        treasury=test[9],
        borrowers={"Ada": test[4], "Bo": test[5], "Cai": test[6]},
        lenders={"Li": test[7], "Mei": test[8], "Ning": test[10], "Ole": test[11], "Pia": test[12]},
    )


# Application data in the lending_club schema (oracle/model docs). Ada is a strong applicant,
# Bo an average one, Cai a weak one; the model, not this script, decides their scores.
APPLICATIONS = {
    "Ada": {
        "funded_amnt": 3000, "term": "term_36", "verification_status": "Verified",
        "annual_inc": 145000, "emp_length": "emp_ge_10", "delinq_2yrs": 0, "inq_last_6mths": 0,
        "revol_util": 12.0, "acc_now_delinq": 0, "open_il_6m": 0, "open_il_12m": 0, "open_il_24m": 0,
        "total_bal_il": 0, "all_util": 15, "inq_fi": 0, "inq_last_12m": 0, "delinq_amnt": 0,
        "num_il_tl": 2, "total_il_high_credit_limit": 20000,
    },
    "Bo": {
        "funded_amnt": 2000, "term": "term_36", "verification_status": "Source_Verified",
        "annual_inc": 68000, "emp_length": "emp_5", "delinq_2yrs": 0, "inq_last_6mths": 1,
        "revol_util": 48.0, "acc_now_delinq": 0, "open_il_6m": 1, "open_il_12m": 1, "open_il_24m": 2,
        "total_bal_il": 18000, "all_util": 55, "inq_fi": 1, "inq_last_12m": 2, "delinq_amnt": 0,
        "num_il_tl": 6, "total_il_high_credit_limit": 30000,
    },
    "Cai": {  # weak but eligible (grade E): the riskiest 2.5 % of the training book are ineligible
        "funded_amnt": 1000, "term": "term_60", "verification_status": "Not_Verified",
        "annual_inc": 45000, "emp_length": "emp_lt_1", "delinq_2yrs": 2, "inq_last_6mths": 1,
        "revol_util": 85.0, "acc_now_delinq": 0, "open_il_6m": 3, "open_il_12m": 1, "open_il_24m": 3,
        "total_bal_il": 42000, "all_util": 75, "inq_fi": 2, "inq_last_12m": 4, "delinq_amnt": 0,
        "num_il_tl": 14, "total_il_high_credit_limit": 45000,
    },
}  # fmt: skip


def advance(chain, seconds: int) -> None:
    """Moves the chain's clock forward and mines a block at the new time."""
    chain.mine(1, timestamp=chain.pending_timestamp + seconds)


def run_story(accounts, chain, project, score_applicants, echo=print) -> Story:
    """Plays the whole story on the connected chain and returns what happened.

    `score_applicants(story, names) -> {name: (score, grade, model_id_hex)}` pushes real scores
    on-chain (in-process model, or the oracle service) before the borrowers request loans.
    """
    from peerlend.deploy import deploy_all, load_params

    cast = make_cast(accounts)
    # Reuses the deployment `make demo` made (so the indexer already follows it), or deploys.
    record = deploy_all(cast.admin, load_params("local"), reuse=True, echo=lambda *_: None)
    contracts = {
        name: getattr(project, name).at(entry["address"]) for name, entry in record["contracts"].items()
    }
    story = Story(contracts, record, cast)
    token, book, lens = contracts["TestStablecoin"], contracts["LoanBook"], contracts["LoanLens"]
    identity = contracts["IdentityRegistry"]
    say = lambda line: story.say(line, echo)  # noqa: E731

    say("== 1. Onboarding (实名认证)")
    everyone = {**cast.borrowers, **cast.lenders}
    for i, account in enumerate(everyone.values(), start=1):
        token.mint(account, 50_000 * UNIT, sender=cast.admin)
        token.approve(book.address, 2**256 - 1, sender=account)
        identity.attest(
            account, bytes([0xA0 + i]) * 32, chain.pending_timestamp + 365 * DAY, sender=cast.attester
        )
    say(f"   KYC attested for borrowers {', '.join(cast.borrowers)} and lenders {', '.join(cast.lenders)}")
    token.mint(cast.admin, 600 * UNIT, sender=cast.admin)
    token.approve(book.address, 600 * UNIT, sender=cast.admin)
    book.deposit_reserve(token.address, 600 * UNIT, sender=cast.admin)
    say(f"   platform seeds the risk reserve (风险准备金) with {money(600 * UNIT)} tUSD")

    say("== 2. Credit scores")
    story.scores = score_applicants(story, list(cast.borrowers))
    for name, (score, grade, model_id) in story.scores.items():
        say(f"   {name}: score {score}, grade {Grade(grade).label} (model {model_id[:10]}…)")

    say("== 3. Requests and funding (借款标的 / 投标)")

    def request(key, who, principal, apr_bps, n, method, period=30 * DAY, funding=7 * DAY):
        receipt = book.request_loan(
            token.address, principal, apr_bps, n, period, method, funding, sender=cast.borrowers[who]
        )
        loan_id = receipt.events.filter(book.LoanRequested)[0].loan_id
        story.loans[key] = loan_id
        story.notes[key] = []
        say(f"   loan {key} (#{loan_id}): {who} asks {money(principal)} at {apr_bps / 100:.1f}% "
            f"over {n} × {period // DAY} days, {Method(method).words}")  # fmt: skip
        return loan_id

    def fund(key, lender, amount):
        receipt = book.fund(story.loans[key], amount, sender=cast.lenders[lender])
        event = receipt.events.filter(book.LoanFunded)[0]
        story.notes[key].append(event.note_id)
        say(f"   {lender} funds {money(event.amount)} of loan {key} → note #{event.note_id}")

    grade_floor = {g: book.grade_limits(token.address, g).min_apr_bps for g in range(1, 6)}

    def apr_for(name, premium):
        grade = story.scores[name][1]
        return max(grade_floor.get(grade, 1_500), 0) + premium

    request("A", "Ada", 3_000 * UNIT, apr_for("Ada", 500), 6, EQUAL_INSTALLMENT)
    request("B", "Bo", 2_000 * UNIT, apr_for("Bo", 400), 4, EQUAL_PRINCIPAL)
    request("C", "Cai", 1_000 * UNIT, apr_for("Cai", 600), 3, BULLET)
    request("D", "Bo", 800 * UNIT, apr_for("Bo", 300), 3, INTEREST_ONLY, funding=3 * DAY)
    request("E", "Ada", 500 * UNIT, apr_for("Ada", 200), 2, EQUAL_INSTALLMENT)
    fund("A", "Li", 1_200 * UNIT)
    fund("A", "Mei", 1_000 * UNIT)
    fund("A", "Ning", 1_500 * UNIT)  # only 800 left: capped
    fund("B", "Ole", 1_500 * UNIT)
    fund("B", "Li", 500 * UNIT)
    fund("C", "Mei", 600 * UNIT)
    fund("C", "Pia", 400 * UNIT)
    fund("D", "Ning", 300 * UNIT)
    fund("E", "Pia", 500 * UNIT)

    say("== 4. Review (满标复审), expiry (流标) and disbursement (放款)")
    book.cancel(story.loans["E"], sender=cast.risk_officer)
    say("   risk officer vetoes loan E inside its review window")
    advance(chain, 3 * DAY)
    for key in ("A", "B", "C"):
        book.disburse(story.loans[key], sender=cast.borrowers[_borrower_of(key)])
        say(f"   loan {key} disbursed: {money(book.loan(story.loans[key]).principal * 99 // 100)} to the borrower "
            f"after the 1% origination fee")  # fmt: skip
    book.expire(story.loans["D"], sender=cast.lenders["Ning"])
    say("   loan D did not fill within 3 days: expired")
    book.refund(story.notes["D"][0], sender=cast.lenders["Ning"])
    book.refund(story.notes["E"][0], sender=cast.lenders["Pia"])
    say("   Ning and Pia get their principal back in full (refund)")

    say("== 5. Repayments (回款)")
    note_nft = story.contracts["LoanNote"]

    def pay_due(key, month, late=""):
        loan_id = story.loans[key]
        if book.loan(loan_id).status != 3:
            return
        due = lens.amount_due(loan_id)
        if due.past_due == 0:
            return
        book.repay(loan_id, due.past_due + due.penalty, sender=cast.borrowers[_borrower_of(key)])
        extra = f" + penalty {money(due.penalty)}" if due.penalty else ""
        say(f"   month {month}: {_borrower_of(key)} pays {money(due.past_due)}{extra} on loan {key}{late}")

    start = book.loan(story.loans["A"]).start
    for month in range(1, 7):
        advance(chain, start + month * 30 * DAY - chain.pending_timestamp)
        pay_due("B", month)
        if month == 3:
            advance(chain, 10 * DAY)  # Ada is late this month: 7 days past the 3-day grace
            pay_due("A", month, late=", 10 days late")
        else:
            pay_due("A", month)
        if month == 2:
            sold = story.notes["B"][0]
            book.claim(sold, sender=cast.lenders["Ole"])  # the seller collects what is due so far
            position = book.note(sold)
            outstanding = lens.amount_due(story.loans["B"]).principal_outstanding
            price = position.share * outstanding // book.loan(story.loans["B"]).principal
            token.transfer(cast.lenders["Ole"], price, sender=cast.lenders["Pia"])
            note_nft.transferFrom(cast.lenders["Ole"], cast.lenders["Pia"], sold, sender=cast.lenders["Ole"])
            story.sales.append({"note_id": sold, "seller": "Ole", "buyer": "Pia", "price": price})
            say(f"   Ole sells note #{sold} of loan B to Pia for {money(price)} (债权转让); "
                f"Pia now receives its repayments")  # fmt: skip

    say("== 6. Default and the risk reserve")
    loan_c = story.loans["C"]
    book.mark_default(loan_c, sender=cast.lenders["Mei"])
    default = book.default_record(loan_c)
    say(f"   Cai never paid: loan C defaulted with debt {money(default.debt)}; the reserve covers "
        f"{money(default.cover)} for its noteholders")  # fmt: skip
    book.repay(loan_c, 300 * UNIT, sender=cast.borrowers["Cai"])
    say(f"   later Cai recovers {money(300 * UNIT)}: it goes to the noteholders first")

    say("== 7. Lenders claim (回款分发)")
    for key in ("A", "B", "C"):
        for note_id in story.notes[key]:
            owner = story.contracts["LoanNote"].ownerOf(note_id)
            if book.claimable(note_id) > 0:
                signer = next(a for a in cast.lenders.values() if a.address == owner)
                book.claim(note_id, sender=signer)
    say("   every noteholder claimed what its notes earned")
    book.withdraw_fees(token.address, sender=cast.admin)
    say("   the treasury withdraws its share of fees")
    return story


def _borrower_of(key: str) -> str:
    return {"A": "Ada", "B": "Bo", "C": "Cai", "D": "Bo", "E": "Ada"}[key]


def summarize(story: Story) -> dict[str, Any]:
    """Per loan and per lender totals, read back from chain events and views."""
    book, token = story.contracts["LoanBook"], story.contracts["TestStablecoin"]
    loans = {}
    for key, loan_id in story.loans.items():
        loan = book.loan(loan_id)
        repayments = list(book.Repayment.query("*", start_block=story.record["start_block"]).itertuples())
        rows = [r for r in repayments if r.event_arguments["loan_id"] == loan_id]
        recoveries = [
            r for r in book.Recovery.query("*", start_block=story.record["start_block"]).itertuples()
            if r.event_arguments["loan_id"] == loan_id
        ]  # fmt: skip
        args = [r.event_arguments for r in rows]
        loans[key] = {
            "loan_id": loan_id,
            "status": LoanStatus(loan.status).name,
            "grade": Grade(loan.grade).label,
            "principal": loan.principal,
            "paid": sum(a["amount"] for a in args) + sum(r.event_arguments["amount"] for r in recoveries),
            "interest": sum(a["interest"] for a in args),
            "penalty": sum(a["penalty"] for a in args),
            "fees": sum(a["fee_treasury"] + a["fee_reserve"] for a in args),
        }
    claims = list(book.Claimed.query("*", start_block=story.record["start_block"]).itertuples())
    refunds = list(book.NoteRefunded.query("*", start_block=story.record["start_block"]).itertuples())
    funded = list(book.LoanFunded.query("*", start_block=story.record["start_block"]).itertuples())
    lenders = {}
    for name, account in story.cast.lenders.items():
        lenders[name] = {
            "sold": sum(sale["price"] for sale in story.sales if sale["seller"] == name),
            "bought": sum(sale["price"] for sale in story.sales if sale["buyer"] == name),
            "funded": sum(
                r.event_arguments["amount"] for r in funded if r.event_arguments["lender"] == account.address
            ),
            "received": sum(
                r.event_arguments["amount"] for r in claims if r.event_arguments["owner"] == account.address
            ),
            "refunded": sum(
                r.event_arguments["amount"] for r in refunds if r.event_arguments["owner"] == account.address
            ),
        }
    return {
        "loans": loans,
        "lenders": lenders,
        "sales": story.sales,
        "reserve": book.reserve(token.address),
        "fees_pending": book.fees(token.address),
        "treasury_balance": token.balanceOf(story.cast.treasury),
        "book_balance": token.balanceOf(book.address),
        "held": book.held(token.address),
    }


def cast_lines(cast: Cast, accounts) -> list[str]:
    """Who is which `TEST::N`: the accounts to use with `peerlend --account TEST::N` afterwards."""
    index = {account.address: n for n, account in enumerate(accounts.test_accounts[:20])}
    roles = [
        ("admin (deployer)", cast.admin),
        ("risk officer (vetoes, pauses)", cast.risk_officer),
        ("KYC attester", cast.attester),
        ("oracle service key", cast.oracle_key),
        ("treasury", cast.treasury),
    ]
    people = [(f"borrower {name}", account) for name, account in cast.borrowers.items()]
    people += [(f"lender {name}", account) for name, account in cast.lenders.items()]
    used = {index[account.address] for _, account in roles + people}
    fresh = [n for n in range(20) if n not in used]
    lines = [
        f"   TEST::{index[account.address]:<3} {role:<32} {account.address}"
        for role, account in roles + people
    ]
    lines.append(f"   TEST::{fresh[0]} … TEST::{fresh[-1]}  new accounts with test ETH, no KYC and no tokens")
    return lines


def print_cast(cast: Cast, accounts, echo=print) -> None:
    echo("")
    echo("== Who is who (sign as any of them with `peerlend --account TEST::N ...`)")
    for line in cast_lines(cast, accounts):
        echo(line)


def print_summary(summary: dict[str, Any], echo=print, api_url: str | None = None) -> None:
    echo("")
    echo("== Summary")
    echo(
        f"{'loan':<5}{'#':>3} {'status':<10}{'grade':<6}{'principal':>11}{'paid':>11}{'interest':>10}{'penalty':>9}{'fees':>8}"
    )
    for key, row in summary["loans"].items():
        echo(
            f"{key:<5}{row['loan_id']:>3} {row['status']:<10}{row['grade']:<6}{money(row['principal']):>11}"
            f"{money(row['paid']):>11}{money(row['interest']):>10}{money(row['penalty']):>9}{money(row['fees']):>8}"
        )
    echo("")
    echo(
        f"{'lender':<8}{'funded':>11}{'notes bought':>13}{'claimed':>11}{'refunded':>11}{'notes sold':>12}{'net':>10}"
    )
    for name, row in summary["lenders"].items():
        net = row["received"] + row["refunded"] + row["sold"] - row["funded"] - row["bought"]
        echo(
            f"{name:<8}{money(row['funded']):>11}{money(row['bought']):>13}{money(row['received']):>11}"
            f"{money(row['refunded']):>11}{money(row['sold']):>12}{money(net):>10}"
        )
    echo("")
    echo(f"risk reserve {money(summary['reserve'])} tUSD · treasury {money(summary['treasury_balance'])} tUSD · "
         f"still in escrow for noteholders {money(summary['held'])} tUSD")  # fmt: skip
    if api_url:
        echo("")
        echo(f"API: {api_url}/stats  {api_url}/loans  {api_url}/docs")
