// 借款: the wallet's KYC, score, grade, expiry and reason codes; apply for a score by signing the
// application as EIP-712 typed data (sent to the oracle service); request a loan with a live
// calculator and the grade's limits shown before anything is signed.
import { keccak256, toUtf8Bytes } from "ethers";
import { api, query } from "../api.js";
import { h, kv, section, table } from "../dom.js";
import { date, grade, pct, toBase, units } from "../format.js";
import { t } from "../i18n.js";
import { indexedTo } from "../live.js";
import { chainOk, state } from "../state.js";
import { contract, provider, runTx } from "../wallet.js";

const LETTERS = "-ABCDE";
const METHODS = ["EQUAL_INSTALLMENT", "EQUAL_PRINCIPAL", "INTEREST_ONLY", "BULLET"];
// Form defaults and choices for the model's application schema (lending_club).
const CHOICES = {
  term: ["term_36", "term_60"],
  verification_status: ["Verified", "Source_Verified", "Not_Verified"],
  emp_length: ["emp_lt_1", "emp_1", "emp_2", "emp_3", "emp_4", "emp_5", "emp_6", "emp_7", "emp_8", "emp_9", "emp_ge_10", "emp_unk"],
};
const SAMPLE = {
  funded_amnt: 3000, term: "term_36", verification_status: "Verified", annual_inc: 145000, emp_length: "emp_ge_10",
  delinq_2yrs: 0, inq_last_6mths: 0, revol_util: 12, acc_now_delinq: 0, open_il_6m: 0, open_il_12m: 0, open_il_24m: 0,
  total_bal_il: 0, all_util: 15, inq_fi: 0, inq_last_12m: 0, delinq_amnt: 0, num_il_tl: 2, total_il_high_credit_limit: 20000,
};

// RFC 8785 (JCS) for the flat objects an application is: keys sorted, JSON.stringify's numbers.
export function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export async function render(root, _route, { rerender }) {
  root.append(h("h1", {}, t("Borrow")));
  if (!state.account || !chainOk()) {
    root.append(section(t("Your account"), h("p", { class: "muted" }, t("Connect a wallet to see your account."))));
    return;
  }
  const me = state.account;
  const [account, oracle, book, registry] = await Promise.all([
    api(`/accounts/${me}`),
    contract("CreditOracle"),
    contract("LoanBook"),
    contract("IdentityRegistry"),
  ]);
  const [score, verified, blocked, attestation, now] = await Promise.all([
    oracle.score_of(me),
    registry.is_verified(me),
    registry.is_blocked(me),
    registry.attestation(me),
    provider().getBlock("latest").then((b) => b.timestamp),
  ]);
  const application = state.config.oracle ? await api(`/oracle/applications/${me}`).catch(() => null) : null;
  const fresh = score.grade > 0n && Number(score.expires_at) > now;
  const gradeLetter = LETTERS[Number(score.grade)] || null;

  root.append(
    h("div", { class: "grid" },
      section(t("Identity (KYC)"), h("p", { testid: "kyc" },
        blocked ? h("span", { class: "error" }, t("Blocked by the risk officer")) :
        verified ? t("Verified until {date}", { date: date(attestation.expires_at ?? attestation[1]) }) : t("Not verified"))),
      section(t("Credit score"),
        h("p", { testid: "score" }, score.grade > 0n
          ? [grade(gradeLetter), " ", t("Score {score}, grade {grade}, valid until {date}", { score: score.score, grade: gradeLetter, date: date(score.expires_at) })]
          : t("No score yet")),
        application?.reasons?.length ? [h("h3", {}, t("Reason codes")), h("ul", { testid: "reasons" }, application.reasons.map((r) => h("li", {}, typeof r === "string" ? r : r.description || r.code || JSON.stringify(r))))] : null,
        account.borrower.scores.length ? table(
          [{ label: t("Date"), cell: (s) => date(s.timestamp) }, { label: t("Credit score"), cell: (s) => s.score }, { label: t("Grade"), cell: (s) => grade(s.grade_letter) }],
          account.borrower.scores.slice(-5).reverse()) : null),
    ),
  );
  if (state.config.oracle) root.append(await applyForm(me, oracle, score, application, rerender));
  root.append(await requestForm({ me, book, score: fresh ? score : null, verified, gradeLetter, rerender }));
}

async function applyForm(me, oracle, previous, application, rerender) {
  const signing = await api("/oracle/signing");
  const inputs = {};
  const known = application?.fields || {};
  const fields = signing.fields.map((name) => {
    const value = known[name] ?? SAMPLE[name] ?? 0;
    const input = CHOICES[name]
      ? h("select", { name }, CHOICES[name].map((c) => h("option", { selected: c === value }, c)))
      : h("input", { name, type: "number", step: "any", value });
    inputs[name] = input;
    return h("label", { class: "field" }, h("span", {}, name), input);
  });
  const status = h("p", { testid: "application-status" }, application ? `${application.status} · ${application.stage}` : "–");
  const submit = h("button", { class: "primary", testid: "apply" }, t("Sign and send application"));
  submit.addEventListener("click", async () => {
    submit.disabled = true;
    status.closest("section").dataset.busy = "1";
    try {
      const values = {};
      for (const [name, input] of Object.entries(inputs)) values[name] = CHOICES[name] ? input.value : Number(input.value);
      const nonce = Date.now();
      const issuedAt = Math.floor(Date.now() / 1000);
      const message = { applicant: me, fieldsHash: keccak256(toUtf8Bytes(canonical(values))), nonce, issuedAt };
      const signer = await provider().getSigner(me);
      status.textContent = t("Waiting for the wallet…");
      const signature = await signer.signTypedData(signing.domain, { Application: signing.types.Application }, message);
      const sent = await api("/oracle/applications", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ address: me, fields: values, nonce, issued_at: issuedAt, signature, scheme: "eip712" }),
      });
      status.textContent = `${sent.status} · ${sent.stage}`;
      const writer = await contract("CreditOracle", true);
      await runTx(t("Apply for a score"), () => writer.request_score());
      // Until the score lands on-chain: the service's status, then the oracle contract.
      for (let i = 0; i < 240; i++) {
        const now = await api(`/oracle/applications/${me}`).catch(() => null);
        if (now) status.textContent = `${now.status} · ${now.stage}${now.score ? ` · ${now.score} ${now.grade_letter}` : ""}`;
        const onchain = await oracle.score_of(me);
        if (now?.status === "failed") throw new Error(now.error || "scoring failed");
        if (now?.status === "scored" && onchain.updated_at !== previous.updated_at) {
          const block = await provider().getBlockNumber();
          await indexedTo(block);
          return rerender();
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    } catch (error) {
      if (!error.shown) status.replaceChildren(h("span", { class: "error" }, error.message));
    } finally {
      submit.disabled = false;
      delete status.closest("section")?.dataset.busy;
    }
  });
  return section(
    t("Apply for a score"),
    h("p", { class: "muted" }, t("Your wallet will show the application (applicant, fields hash, nonce, time) as typed data to sign. No key leaves the wallet.")),
    h("div", { class: "form-grid", testid: "application-form" }, fields),
    submit,
    h("h3", {}, t("Application status")),
    status,
  );
}

async function requestForm({ me, book, score, verified, gradeLetter, rerender }) {
  const tokens = state.config.tokens;
  const params = await book.params();
  const caps = { minFunding: await (await contract("LoanLens")).MIN_FUNDING_SECONDS() };
  const el = {
    token: h("select", { testid: "req-token" }, tokens.map((tk) => h("option", { value: tk.address }, tk.symbol))),
    principal: h("input", { type: "text", inputmode: "decimal", value: "1000", testid: "req-principal" }),
    apr: h("input", { type: "number", step: "0.01", value: "12", testid: "req-apr" }),
    installments: h("input", { type: "number", min: 1, value: "3", testid: "req-installments" }),
    period: h("input", { type: "number", min: 1, value: "30", testid: "req-period" }),
    method: h("select", { testid: "req-method" }, METHODS.map((m) => h("option", { value: m }, t(m)))),
    funding: h("input", { type: "number", min: 1, value: "7", testid: "req-funding" }),
  };
  const limitsBox = h("div", { testid: "grade-limits" });
  const calcBox = h("div", { testid: "calculator" });
  const problemsBox = h("div", { testid: "problems" });
  const submit = h("button", { class: "primary", testid: "request" }, t("Submit request"));
  let current = null;

  async function update() {
    const token = tokens.find((tk) => tk.address === el.token.value);
    const problems = [];
    let principal = 0n;
    try {
      principal = toBase(el.principal.value, token);
    } catch (error) {
      problems.push(error.message);
    }
    const aprBps = Math.round(Number(el.apr.value) * 100);
    if (!verified) problems.push(t("You need KYC first"));
    if (!score) problems.push(t("You need a fresh credit score first"));
    if (score) {
      const limits = await book.grade_limits(token.address, score.grade);
      // Exposure is counted per KYC identity: every wallet of one person shares the cap.
      const identityHash = (await (await contract("IdentityRegistry")).attestation(me)).identity_hash;
      const exposure = await book.exposure(identityHash, token.address);
      limitsBox.replaceChildren(kv([
        [t("Grade"), grade(gradeLetter)],
        [t("Max loan"), units(limits.max_principal, token), "limit-max"],
        [t("Max outstanding"), units(limits.max_exposure, token)],
        [t("Already outstanding"), units(exposure, token)],
        [t("Min APR"), pct(limits.min_apr_bps)],
      ]));
      if (principal > limits.max_principal) problems.push(t("Over your grade's loan cap"));
      if (exposure + principal > limits.max_exposure) problems.push(t("Over your grade's outstanding cap"));
      if (BigInt(aprBps) < limits.min_apr_bps) problems.push(t("APR below your grade's floor"));
    }
    const periodSeconds = Math.round(Number(el.period.value) * 86400);
    current = { token, principal, aprBps, installments: Number(el.installments.value), periodSeconds, method: METHODS.indexOf(el.method.value), fundingSeconds: Math.max(Number(caps.minFunding), Math.round(Number(el.funding.value) * 86400)) };
    if (principal > 0n) {
      try {
        const calc = await api("/calculator" + query({ principal: principal.toString(), apr_bps: aprBps, installments: current.installments, period_seconds: periodSeconds, method: current.method }));
        const fee = (principal * params.origination_fee_bps) / 10000n;
        calcBox.replaceChildren(
          kv([
            [t("Total interest"), units(calc.total_interest, token), "calc-interest"],
            [t("Origination fee"), `${units(fee, token)} (${pct(params.origination_fee_bps)})`, "calc-fee"],
            [t("You receive"), units(principal - fee, token), "calc-receive"],
            [t("Total to repay"), units(calc.total, token)],
          ]),
          table(
            [
              { label: "#", cell: (r) => r.installment },
              { label: t("Due"), cell: (r) => `+${Math.round(r.due_offset / 86400)} ${t("days")}` },
              { label: t("Principal"), cell: (r) => units(r.principal, token), num: true },
              { label: t("Interest"), cell: (r) => units(r.interest, token), num: true },
              { label: t("Amount"), cell: (r) => units(r.amount, token), num: true },
            ],
            calc.schedule,
          ),
        );
      } catch (error) {
        problems.push(error.message);
        calcBox.replaceChildren();
      }
    }
    problemsBox.replaceChildren(problems.length ? h("div", { class: "error" }, t("Fix before signing:"), h("ul", {}, problems.map((p) => h("li", {}, p)))) : "");
    submit.disabled = problems.length > 0;
  }

  let timer = null;
  for (const input of Object.values(el)) input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(update, 200);
  });
  submit.addEventListener("click", async () => {
    submit.disabled = true;
    submit.closest("section").dataset.busy = "1";
    try {
      const c = current;
      const writer = await contract("LoanBook", true);
      const receipt = await runTx(t("Request a loan"), () =>
        writer.request_loan(c.token.address, c.principal, c.aprBps, c.installments, c.periodSeconds, c.method, c.fundingSeconds));
      const event = receipt.logs.map((log) => { try { return writer.interface.parseLog(log); } catch { return null; } }).find((e) => e?.name === "LoanRequested");
      await indexedTo(receipt.blockNumber);
      if (event) location.hash = `#/loan/${event.args.loan_id ?? event.args[0]}`;
      else rerender();
    } catch {
      /* shown in the transaction log */
    } finally {
      submit.disabled = false;
      delete submit.closest("section")?.dataset.busy;
    }
  });
  await update();
  return section(
    t("Request a loan"),
    h("div", { class: "form-grid" },
      h("label", { class: "field" }, h("span", {}, t("Token")), el.token),
      h("label", { class: "field" }, h("span", {}, t("Principal")), el.principal),
      h("label", { class: "field" }, h("span", {}, t("APR (%)")), el.apr),
      h("label", { class: "field" }, h("span", {}, t("Installments")), el.installments),
      h("label", { class: "field" }, h("span", {}, t("Period (days)")), el.period),
      h("label", { class: "field" }, h("span", {}, t("Method")), el.method),
      h("label", { class: "field" }, h("span", {}, t("Funding window (days)")), el.funding),
    ),
    h("h3", {}, t("Your grade's limits")),
    limitsBox,
    calcBox,
    problemsBox,
    submit,
  );
}
