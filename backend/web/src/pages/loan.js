// One loan: terms and frozen fees, schedule (table + chart), funding and noteholders,
// repayments, default record, the event timeline, and what the connected wallet may do.
import { api } from "../api.js";
import { chart } from "../charts.js";
import { afterMount, h, kv, section, table } from "../dom.js";
import { date, days, grade, pct, plain, short, statusBadge, toBase, tokenOf, units } from "../format.js";
import { t } from "../i18n.js";
import { indexedTo } from "../live.js";
import { chainOk, state } from "../state.js";
import { contract, erc20, provider, runTx, withApproval } from "../wallet.js";
import { progress } from "./market.js";

const DAY = 86400;
const KNOWN_TERMS = [
  "origination_fee_bps", "service_fee_bps", "reserve_share_bps", "penalty_bps_per_day", "penalty_cap_bps",
  "grace_seconds", "default_after_seconds", "review_seconds", "coverage_bps",
];

export async function render(root, { args }, { rerender }) {
  const id = Number(args[0]);
  let loan;
  try {
    if (!Number.isInteger(id) || id < 1) throw Object.assign(new Error("bad id"), { status: 404 });
    loan = await api(`/loans/${id}`);
  } catch (error) {
    if (error.status === 404 || error.status === 422) {
      root.append(
        h("h1", {}, t("Loan #{id}", { id: args[0] ?? "" })),
        h("p", { class: "error", testid: "not-found" }, t("Loan #{id} was not found.", { id: args[0] ?? "" })),
        h("a", { href: "#/market" }, t("Back to the market")),
      );
      return;
    }
    throw error;
  }
  const token = tokenOf(loan.token);
  const u = (amount) => units(amount, token);
  const terms = loan.terms;

  root.append(
    h("h1", {}, t("Loan #{id}", { id }), " ", statusBadge(loan.status), " ", grade(loan.grade_letter)),
    h("div", { class: "grid" },
      section(t("Terms"), kv([
        [t("Principal"), u(loan.principal), "principal"],
        [t("APR"), pct(loan.apr_bps)],
        [t("Installments"), loan.installments],
        [t("Period"), `${days(loan.period_seconds)} ${t("days")}`],
        [t("Method"), t(loan.method)],
        [t("Borrower"), h("a", { href: `#/audit?account=${loan.borrower}`, title: loan.borrower }, short(loan.borrower))],
        [t("Funding deadline"), date(loan.funding_deadline)],
        loan.review_ends_at ? [t("Review window"), date(loan.review_ends_at)] : null,
        loan.start ? [t("Disbursed"), date(loan.start)] : null,
      ].filter(Boolean))),
      section(t("Frozen fees and penalties"), kv([
        [t("Origination fee"), `${pct(terms.origination_fee_bps)} (${u(loan.origination_fee)})`],
        [t("Service fee"), pct(terms.service_fee_bps)],
        [t("Reserve share of fees"), pct(terms.reserve_share_bps)],
        [t("Late penalty"), `${pct(terms.penalty_bps_per_day)} ${t("per day")}`],
        [t("Penalty cap"), pct(terms.penalty_cap_bps)],
        [t("Grace"), `${days(terms.grace_seconds)} ${t("days")}`],
        [t("Default after"), `${days(terms.default_after_seconds)} ${t("days")}`],
        [t("Review window"), `${(terms.review_seconds / 3600).toFixed(0)} h`],
        [t("Coverage by reserve"), pct(terms.coverage_bps)],
        ...Object.entries(terms)
          .filter(([key]) => !KNOWN_TERMS.includes(key))
          .map(([key, value]) => [key, key.endsWith("_seconds") ? `${(value / 3600).toFixed(0)} h` : key.endsWith("_bps") ? pct(value) : value]),
      ])),
    ),
  );

  const actions = section(t("Your actions"), h("p", { class: "muted" }, t("Loading…")));
  actions.dataset.testid = "actions";
  root.append(actions);
  drawActions(actions, loan, token, rerender).catch((error) => actions.append(h("p", { class: "error" }, error.message)));

  // Funding and noteholders.
  root.append(
    section(
      t("Funding"),
      h("p", { testid: "funded" }, `${u(loan.funded)} / ${u(loan.principal)} · ${loan.lender_count} ${t("Lenders")}`),
      progress(loan.funded, loan.principal),
      h("h3", {}, t("Noteholders")),
      table(
        [
          { label: t("Note"), cell: (n) => `#${n.id}` },
          { label: t("Owner"), cell: (n) => h("span", { title: n.owner || "" }, n.owner ? short(n.owner) : "–") },
          { label: t("Amount"), cell: (n) => u(n.amount), num: true },
          { label: t("Claimable"), cell: (n) => u(n.claimable), num: true },
        ],
        loan.notes,
        { testid: "noteholders" },
      ),
    ),
  );

  // Schedule: table and chart.
  const holder = h("div", { class: "chart" });
  root.append(
    section(
      t("Schedule"),
      holder,
      table(
        [
          { label: "#", cell: (r) => r.installment },
          { label: t("Due"), cell: (r) => (r.due_time ? date(r.due_time, false) : `+${days(r.due_offset)} ${t("days")}`) },
          { label: t("Principal"), cell: (r) => u(r.principal), num: true },
          { label: t("Interest"), cell: (r) => u(r.interest), num: true },
          { label: t("Amount"), cell: (r) => u(r.amount), num: true },
          { label: t("Paid"), cell: (r) => u(r.paid), num: true },
          { label: t("Status"), cell: (r) => h("span", { class: `status status-${r.status}` }, t(r.status), r.days_overdue ? ` (${r.days_overdue} ${t("days")})` : "") },
        ],
        loan.schedule,
        { testid: "schedule" },
      ),
    ),
  );
  afterMount(root, () =>
    chart(
      holder,
      "bar",
      loan.schedule.map((r) => `#${r.installment}`),
      [
        { label: t("Principal"), data: loan.schedule.map((r) => Number(plain(r.principal, token))), stack: "due" },
        { label: t("Interest"), data: loan.schedule.map((r) => Number(plain(r.interest, token))), stack: "due" },
        { label: t("Paid"), data: loan.schedule.map((r) => Number(plain(r.paid, token))), stack: "paid" },
      ],
      { scales: { x: { stacked: true }, y: { stacked: true, title: { display: true, text: token.symbol } } } },
    ),
  );

  // Repayments, penalties, default and recoveries.
  root.append(
    section(
      t("Repayments"),
      kv([
        [t("Principal"), u(loan.paid.principal)],
        [t("Interest"), u(loan.paid.interest)],
        [t("Penalty"), u(loan.paid.penalty), "penalty-paid"],
        [t("Recovered"), u(loan.paid.recovered)],
      ]),
      loan.repayments.length
        ? table(
            [
              { label: t("Date"), cell: (r) => date(r.timestamp) },
              { label: t("Amount"), cell: (r) => u(r.amount), num: true },
              { label: t("Principal"), cell: (r) => u(r.principal), num: true },
              { label: t("Interest"), cell: (r) => u(r.interest), num: true },
              { label: t("Penalty"), cell: (r) => u(r.penalty), num: true },
              { label: t("Payer"), cell: (r) => short(r.payer) },
              { label: t("Transaction"), cell: (r) => txLink(r.tx_hash, r.block_number) },
            ],
            loan.repayments,
            { testid: "repayments" },
          )
        : null,
    ),
  );
  if (loan.default) {
    root.append(
      section(
        t("Default record"),
        kv(
          [
            [t("Debt at default"), u(loan.default.debt)],
            [t("Principal outstanding"), u(loan.default.principal)],
            [t("Reserve cover"), u(loan.default.cover), "reserve-cover"],
            [t("Recovered"), u(loan.default.recovered)],
          ],
          { testid: "default-record" },
        ),
      ),
    );
  }
  root.append(
    section(
      t("Timeline"),
      h(
        "ol",
        { class: "timeline", testid: "timeline" },
        loan.events.map((e) =>
          h("li", {}, h("b", {}, e.name), " · ", date(e.block_timestamp), " · ", t("Block"), " ", e.block_number, " · ", txLink(e.tx_hash, e.block_number)),
        ),
      ),
    ),
  );
}

function txLink(hash, block) {
  return h("a", { href: `#/audit?from_block=${block}&to_block=${block}`, title: hash, class: "mono" }, hash.slice(0, 10) + "…");
}

async function chainNow() {
  return (await provider().getBlock("latest")).timestamp;
}

async function drawActions(box, loan, token, rerender) {
  const title = box.querySelector("h2");
  box.replaceChildren(title);
  if (!state.account) return box.append(h("p", { class: "muted" }, t("Connect a wallet to act on this loan.")));
  if (!chainOk()) return box.append(h("p", { class: "muted" }, t("Switch network")));
  const me = state.account.toLowerCase();
  const book = await contract("LoanBook");
  const now = await chainNow();
  const officer = await book.hasRole(await book.RISK_OFFICER_ROLE(), state.account);
  // Pause stops funding and disbursement (repay, claim, refund and default always work).
  const paused = await book.paused();
  const pausedNote = () => h("p", { class: "error", testid: "paused-note" }, t("The platform is paused: requests, funding and disbursement wait."));
  const u = (amount) => units(amount, token);
  const done = async (receipt) => {
    await indexedTo(receipt.blockNumber);
    rerender();
  };
  const act = (label, id, fn) =>
    h("button", {
      class: "primary",
      testid: id,
      onclick: async (event) => {
        const button = event.currentTarget;
        button.disabled = true;
        box.dataset.busy = "1";
        try {
          await done(await fn());
        } catch (error) {
          if (!error.shown) box.append(h("p", { class: "error", testid: "action-error" }, error.message));
        } finally {
          button.disabled = false;
          delete box.dataset.busy;
        }
      },
    }, label);
  const write = () => contract("LoanBook", true);
  const items = [];
  const status = loan.status_recorded;

  if (status === "OPEN" && now < loan.funding_deadline) {
    const left = BigInt(loan.principal) - BigInt(loan.funded);
    if (loan.borrower.toLowerCase() !== me && paused) items.push(pausedNote());
    const registry = await contract("IdentityRegistry");
    const kycLimit = (await registry.is_verified(state.account)) ? null : await book.lender_kyc_threshold(loan.token);
    if (loan.borrower.toLowerCase() !== me && !paused && kycLimit === 0n) {
      items.push(h("p", { class: "error", testid: "fund-needs-kyc" }, t("Funding needs a KYC attestation for this wallet.")));
    } else if (loan.borrower.toLowerCase() !== me && !paused) {
      const balance = await (await erc20(loan.token)).balanceOf(state.account);
      const input = h("input", { type: "text", inputmode: "decimal", testid: "fund-amount", value: plain(left < balance ? left : balance, token), "aria-label": t("Amount to fund") });
      items.push(
        h("div", { class: "action" },
          h("h3", {}, t("Fund")),
          h("p", { class: "muted", testid: "fund-cap" }, t("At most {left} is still open; a larger amount is capped to it.", { left: u(left) })),
          h("p", { class: "muted" }, t("Your balance: {bal}", { bal: u(balance) })),
          kycLimit !== null ? h("p", { class: "muted" }, t("Without KYC you may fund at most {max}.", { max: u(kycLimit) })) : null,
          h("label", {}, t("Amount to fund"), " ", input, " ", token.symbol),
          act(t("Fund"), "fund", async () => {
            let amount = toBase(input.value, token);
            if (amount > left) amount = left; // the contract takes only what is missing
            const signer = await write();
            return withApproval(loan.token, amount, u(amount), () => runTx(`${t("Fund")} ${u(amount)}`, () => signer.fund(loan.id, amount)));
          }),
        ),
      );
    }
    if (loan.borrower.toLowerCase() === me || officer) {
      items.push(act(t("Cancel request"), "cancel", async () => runTx(t("Cancel request"), async () => (await write()).cancel(loan.id))));
    }
  }
  // Expired by time (funding deadline, or a disbursement deadline) but not yet recorded.
  const expiredByTime =
    (status === "OPEN" && now >= loan.funding_deadline) || (status !== "EXPIRED" && loan.status === "EXPIRED");
  if (expiredByTime) {
    items.push(act(t("Expire"), "expire", async () => runTx(t("Expire"), async () => (await write()).expire(loan.id))));
  }
  if (status === "FUNDED" && !expiredByTime) {
    if (now >= loan.review_ends_at && paused) {
      items.push(pausedNote());
    } else if (now >= loan.review_ends_at) {
      items.push(act(t("Disburse"), "disburse", async () => runTx(t("Disburse"), async () => (await write()).disburse(loan.id))));
    } else {
      items.push(h("p", { class: "muted" }, t("Review ends {date}", { date: date(loan.review_ends_at) })));
      if (officer) items.push(act(t("Veto (risk officer)"), "veto", async () => runTx(t("Veto (risk officer)"), async () => (await write()).cancel(loan.id))));
    }
  }
  if (status === "ACTIVE") {
    // amount_due lives on LoanLens once deployed beside the book, on the book before.
    const due = await (state.config.contracts.LoanLens ? await contract("LoanLens") : book).amount_due(loan.id);
    const nowDue = due.past_due + due.penalty;
    const suggested = nowDue > 0n ? nowDue : due.next_due_amount;
    const input = h("input", { type: "text", inputmode: "decimal", testid: "repay-amount", value: plain(suggested, token), "aria-label": t("Amount to repay") });
    items.push(
      h("div", { class: "action" },
        h("h3", {}, t("Repay")),
        kv([
          [t("Past due"), u(due.past_due), "due-past"],
          [t("Penalty"), u(due.penalty), "due-penalty"],
          [t("Next installment"), `${u(due.next_due_amount)} · ${date(due.next_due_time)}`],
          [t("Principal outstanding"), u(due.principal_outstanding)],
          [t("Payoff now"), u(due.payoff), "due-payoff"],
        ]),
        h("label", {}, t("Amount to repay"), " ", input, " ", token.symbol),
        act(t("Repay"), "repay", async () => {
          const amount = toBase(input.value, token);
          const signer = await write();
          return withApproval(loan.token, amount, u(amount), () => runTx(`${t("Repay")} ${u(amount)}`, () => signer.repay(loan.id, amount)));
        }),
        act(`${t("Repay in full")} (${u(due.payoff)})`, "repay-full", async () => {
          // Interest accrues by the second until the transaction lands: approve a little more.
          const cap = due.payoff + due.payoff / 1000n + 1n;
          const signer = await write();
          return withApproval(loan.token, cap, u(cap), () => runTx(t("Repay in full"), () => signer.repay_in_full(loan.id)));
        }),
      ),
    );
    const unpaid = loan.schedule.find((r) => BigInt(r.unpaid) > 0n);
    if (unpaid && unpaid.due_time && now > unpaid.due_time + loan.terms.default_after_seconds) {
      items.push(act(t("Mark default"), "mark-default", async () => runTx(t("Mark default"), async () => (await write()).mark_default(loan.id))));
    }
  }
  if (status === "CANCELLED" || status === "EXPIRED") {
    for (const note of loan.notes.filter((n) => n.owner && n.owner.toLowerCase() === me && BigInt(n.share) > 0n)) {
      items.push(act(t("Refund note #{id}", { id: note.id }), `refund-${note.id}`, async () => runTx(t("Refund note #{id}", { id: note.id }), async () => (await write()).refund(note.id))));
    }
  }
  for (const note of loan.notes.filter((n) => n.owner && n.owner.toLowerCase() === me && BigInt(n.claimable) > 0n)) {
    items.push(act(`${t("Claim")} #${note.id} (${u(note.claimable)})`, `claim-${note.id}`, async () => runTx(t("Claim"), async () => (await write()).claim(note.id))));
  }
  if (!items.length) items.push(h("p", { class: "muted", testid: "no-actions" }, t("Nothing this wallet can do on this loan now.")));
  box.append(...items);
  void DAY;
}
