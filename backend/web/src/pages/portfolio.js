// 投资记录 / 借款管理: a lender's notes (claimable, claim, claim all, safe transfer) and cash
// flows; a borrower's loans with the next due date and amount, overdue warnings and repay.
import { getAddress, isAddress } from "ethers";
import { api, query } from "../api.js";
import { chart } from "../charts.js";
import { afterMount, h, section, table } from "../dom.js";
import { date, plain, short, statusBadge, tokenOf, units } from "../format.js";
import { t } from "../i18n.js";
import { indexedTo } from "../live.js";
import { chainOk, state } from "../state.js";
import { contract, provider, runTx } from "../wallet.js";

export async function render(root, _route, { rerender }) {
  root.append(h("h1", {}, t("Portfolio")));
  if (!state.account || !chainOk()) {
    root.append(section(null, h("p", { class: "muted" }, t("Connect a wallet to see your account."))));
    return;
  }
  const me = state.account;
  const account = await api(`/accounts/${me}`);
  const notes = account.lender.notes;
  const loanIds = [...new Set(notes.map((n) => n.loan_id))];
  const loans = Object.fromEntries(await Promise.all(loanIds.map(async (id) => [id, await api(`/loans/${id}`)])));
  const claims = await api("/events" + query({ name: "Claimed", account: me, limit: 1000 }));

  const busy = (el, on) => (on ? (el.dataset.busy = "1") : delete el.dataset.busy);
  const after = async (receipt) => {
    await indexedTo(receipt.blockNumber);
    rerender();
  };
  const claimOne = async (note) => {
    const book = await contract("LoanBook", true);
    return runTx(`${t("Claim")} #${note.id}`, () => book.claim(note.id));
  };
  const claimable = notes.filter((n) => BigInt(n.claimable) > 0n);
  const notesBox = section(t("My notes (投资记录)"));
  notesBox.append(h("div", {},
    Object.entries(account.lender.claimable).map(([token, amount]) => h("p", { testid: "claimable-total" }, `${t("Claimable")}: ${units(amount, token)}`)),
    claimable.length > 1
      ? h("button", {
          class: "primary",
          testid: "claim-all",
          onclick: async (e) => {
            busy(notesBox, true);
            e.currentTarget.disabled = true;
            let last = null;
            try {
              for (const note of claimable) last = await claimOne(note);
            } catch {
              /* shown in the transaction log */
            }
            busy(notesBox, false);
            if (last) after(last);
          },
        }, t("Claim all"))
      : null,
    notes.length
      ? table(
          [
            { label: t("Note"), cell: (n) => `#${n.id}` },
            { label: t("Loan"), cell: (n) => h("a", { href: `#/loan/${n.loan_id}` }, `#${n.loan_id}`) },
            { label: t("Status"), cell: (n) => statusBadge(loans[n.loan_id].status) },
            { label: t("Amount"), cell: (n) => units(n.amount, loans[n.loan_id].token), num: true },
            { label: t("Claimable"), cell: (n) => h("span", { testid: `claimable-${n.id}` }, units(n.claimable, loans[n.loan_id].token)), num: true },
            {
              label: "",
              cell: (n) =>
                h("div", { class: "row-actions" },
                  BigInt(n.claimable) > 0n
                    ? h("button", { testid: `claim-${n.id}`, onclick: async (e) => {
                        e.currentTarget.disabled = true;
                        busy(notesBox, true);
                        try { await after(await claimOne(n)); } catch { /* shown */ } finally { busy(notesBox, false); }
                      } }, t("Claim"))
                    : null,
                  transferForm(n, notesBox, after)),
            },
          ],
          notes,
          { testid: "notes" },
        )
      : h("p", { class: "muted" }, t("No notes yet.")),
  ));
  root.append(notesBox);

  // Cash flows: claims received by month, and what the schedules still owe the notes.
  const flows = new Map();
  const add = (month, key, value) => {
    const row = flows.get(month) || { received: 0, expected: 0 };
    row[key] += value;
    flows.set(month, row);
  };
  const month = (ts) => new Date(ts * 1000).toISOString().slice(0, 7);
  for (const e of claims.items) add(month(e.block_timestamp), "received", Number(plain(e.args.amount, tokenOf(loans[e.loan_id]?.token || state.config.tokens[0]?.address))));
  for (const n of notes) {
    const loan = loans[n.loan_id];
    if (loan.status !== "ACTIVE") continue;
    for (const r of loan.schedule) {
      if (BigInt(r.unpaid) === 0n || !r.due_time) continue;
      const part = (BigInt(r.unpaid) * BigInt(n.share)) / BigInt(loan.principal);
      add(month(r.due_time), "expected", Number(plain(part, loan.token)));
    }
  }
  const months = [...flows.keys()].sort();
  const holder = h("div", { class: "chart", testid: "cashflow-chart" });
  root.append(section(t("Cash flows"), holder));
  afterMount(root, () =>
    chart(holder, "bar", months, [
      { label: t("Received"), data: months.map((m) => flows.get(m).received) },
      { label: t("Expected"), data: months.map((m) => flows.get(m).expected) },
    ]),
  );

  // As borrower.
  const mine = account.borrower.loans;
  root.append(
    section(
      t("My loans (借款管理)"),
      mine.length
        ? table(
            [
              { label: t("Loan"), cell: (l) => h("a", { href: `#/loan/${l.id}` }, `#${l.id}`) },
              { label: t("Status"), cell: (l) => statusBadge(l.status) },
              { label: t("Principal"), cell: (l) => units(l.principal, l.token), num: true },
              { label: t("Next due"), cell: (l) => (l.next_due_time ? `${date(l.next_due_time, false)} · ${units(l.next_due_amount, l.token)}` : "–") },
              { label: t("Past due"), cell: (l) => (l.days_past_due > 0 || BigInt(l.past_due) > 0n
                  ? h("span", { class: "error", testid: `overdue-${l.id}` }, `${units(l.past_due, l.token)} · ${t("Overdue by {days} days", { days: l.days_past_due })}`)
                  : "–") },
              { label: "", cell: (l) => (l.status === "ACTIVE" ? h("a", { class: "button", href: `#/loan/${l.id}`, testid: `repay-link-${l.id}` }, t("Repay")) : "") },
            ],
            mine,
            { testid: "my-loans" },
          )
        : h("p", { class: "muted" }, t("No loans yet.")),
      mine.length
        ? h("p", {}, h("a", { href: `/accounts/${me}/calendar.ics`, testid: "calendar-link" }, t("Repayment calendar (.ics): subscribe in any calendar app")))
        : null,
    ),
  );
}

function transferForm(note, box, after) {
  const input = h("input", { type: "text", placeholder: "0x…", "aria-label": t("Recipient address"), testid: `transfer-to-${note.id}`, size: 14 });
  const error = h("span", { class: "error", testid: `transfer-error-${note.id}` });
  const button = h("button", {
    testid: `transfer-${note.id}`,
    onclick: async () => {
      error.textContent = "";
      const to = input.value.trim();
      if (!isAddress(to)) return (error.textContent = t("Not an address"));
      box.dataset.busy = "1";
      button.disabled = true;
      try {
        const notes = await contract("LoanNote", true);
        const recipient = getAddress(to);
        // safeTransferFrom refuses contracts without onERC721Received; check first to say why.
        const code = await provider().getCode(recipient);
        if (code !== "0x") {
          try {
            await notes["safeTransferFrom(address,address,uint256)"].staticCall(state.account, recipient, note.id);
          } catch {
            error.textContent = t("The recipient is a contract that cannot hold notes (no onERC721Received): transfer refused.");
            return;
          }
        }
        const receipt = await runTx(`${t("Transfer")} #${note.id} → ${short(recipient)}`, () =>
          notes["safeTransferFrom(address,address,uint256)"](state.account, recipient, note.id));
        await after(receipt);
      } catch {
        /* shown in the transaction log */
      } finally {
        button.disabled = false;
        delete box.dataset.busy;
      }
    },
  }, t("Transfer"));
  return h("span", { class: "transfer" }, input, button, error);
}
