// Operator console, shown only to a wallet holding a role (read with hasRole): pause/unpause,
// veto during review, blocklist, KYC attest/revoke, parameters with their hard caps, fees.
import { getAddress, isAddress, keccak256, toUtf8Bytes } from "ethers";
import { api } from "../api.js";
import { h, kv, section, table } from "../dom.js";
import { date, days, pct, short, units } from "../format.js";
import { t } from "../i18n.js";
import { indexedTo } from "../live.js";
import { chainOk, state } from "../state.js";
import { contract, provider, runTx } from "../wallet.js";
import { renderRisk } from "./risk.js";

const ROLES = {
  LoanBook: ["DEFAULT_ADMIN_ROLE", "RISK_OFFICER_ROLE", "PAUSER_ROLE"],
  IdentityRegistry: ["DEFAULT_ADMIN_ROLE", "KYC_ATTESTER_ROLE", "RISK_OFFICER_ROLE"],
  CreditOracle: ["DEFAULT_ADMIN_ROLE"],
};
// The parameters, in the order of the ABI's Terms tuple (so a new term needs no change here),
// each with the constant that caps it when the contract has one (MAX_<NAME>, without _SECONDS).
function paramsOf(book) {
  const names = new Set(book.interface.fragments.filter((f) => f.type === "function").map((f) => f.name));
  return book.interface.getFunction("params").outputs[0].components.map(({ name }) => {
    const kind = name.endsWith("_bps") || name.endsWith("_bps_per_day") ? "bps" : "s";
    const base = name.toUpperCase();
    const cap = [`MAX_${base}`, `MAX_${base.replace(/_SECONDS$/, "")}_SECONDS`].find((c) => names.has(c)) || null;
    return [name, cap, kind];
  });
}

export async function operatorRoles(account) {
  const held = [];
  for (const [name, roles] of Object.entries(ROLES)) {
    const c = await contract(name);
    for (const role of roles) {
      if (await c.hasRole(await c[role](), account)) held.push(`${name}.${role}`);
    }
  }
  return held;
}

export async function render(root, _route, { rerender }) {
  root.append(h("h1", {}, t("Operator console")));
  if (!state.account || !chainOk()) {
    root.append(section(null, h("p", { class: "muted" }, t("Connect a wallet to see your account."))));
    return;
  }
  const roles = await operatorRoles(state.account);
  if (!roles.length) {
    root.append(section(null, h("p", { class: "muted", testid: "no-role" }, t("This wallet holds no operator role."))));
    return;
  }
  const has = (r) => roles.includes(r);
  const book = await contract("LoanBook");
  const after = async (receipt) => {
    await indexedTo(receipt.blockNumber);
    rerender();
  };
  const act = (label, id, fn, cls = "primary") =>
    h("button", {
      class: cls,
      testid: id,
      onclick: async (e) => {
        const button = e.currentTarget;
        button.disabled = true;
        root.dataset.busy = "1";
        try {
          await after(await fn());
        } catch (error) {
          if (!error.shown) button.after(h("span", { class: "error", testid: "operator-error" }, " ", error.message));
        } finally {
          button.disabled = false;
          delete root.dataset.busy;
        }
      },
    }, label);
  const addressOf = (input) => {
    const value = input.value.trim();
    if (!isAddress(value)) throw new Error(`${t("Not an address")}: ${value}`);
    return getAddress(value);
  };

  root.append(section(t("Roles"), h("ul", { testid: "roles" }, roles.map((r) => h("li", {}, r)))));

  if (has("LoanBook.RISK_OFFICER_ROLE") || has("IdentityRegistry.RISK_OFFICER_ROLE")) {
    await renderRisk(root, { act, canBlock: has("IdentityRegistry.RISK_OFFICER_ROLE") });
  }

  if (has("LoanBook.PAUSER_ROLE")) {
    const paused = await book.paused();
    root.append(section(t("Pause"),
      h("p", { testid: "paused" }, paused ? t("Paused") : t("Running")),
      paused
        ? act(t("Unpause"), "unpause", async () => runTx(t("Unpause"), async () => (await contract("LoanBook", true)).unpause()))
        : act(t("Pause"), "pause", async () => runTx(t("Pause"), async () => (await contract("LoanBook", true)).pause()))));
  }

  if (has("LoanBook.RISK_OFFICER_ROLE")) {
    const funded = await api("/loans?status=FUNDED&limit=100");
    const now = (await provider().getBlock("latest")).timestamp;
    const inReview = funded.items.length ? await Promise.all(funded.items.map((l) => api(`/loans/${l.id}`))) : [];
    root.append(section(t("Veto during review"),
      table(
        [
          { label: t("Loan"), cell: (l) => h("a", { href: `#/loan/${l.id}` }, `#${l.id}`) },
          { label: t("Principal"), cell: (l) => units(l.principal, l.token), num: true },
          { label: t("Review ends {date}", { date: "" }), cell: (l) => date(l.review_ends_at) },
          { label: "", cell: (l) => (now < l.review_ends_at ? act(t("Veto (risk officer)"), `veto-${l.id}`, async () => runTx(t("Veto (risk officer)"), async () => (await contract("LoanBook", true)).cancel(l.id)), "danger") : "") },
        ],
        inReview,
      )));
  }

  if (has("IdentityRegistry.RISK_OFFICER_ROLE")) {
    const input = h("input", { placeholder: "0x…", testid: "block-address", "aria-label": t("Account") });
    const set = (blocked) => async () => {
      const who = addressOf(input);
      return runTx(`${blocked ? t("Add to blocklist") : t("Remove from blocklist")} ${short(who)}`, async () => (await contract("IdentityRegistry", true)).set_blocked(who, blocked));
    };
    root.append(section(t("Blocklist (反洗钱)"),
      h("label", {}, t("Account"), " ", input), " ",
      act(t("Add to blocklist"), "block", set(true), "danger"), " ",
      act(t("Remove from blocklist"), "unblock", set(false), "")));
  }

  if (has("IdentityRegistry.KYC_ATTESTER_ROLE")) {
    const who = h("input", { placeholder: "0x…", testid: "kyc-address", "aria-label": t("Account") });
    const ref = h("input", { placeholder: "ID-2026-0001", testid: "kyc-reference", "aria-label": t("Identity reference") });
    const inYear = new Date(Date.now() + 365 * 86400 * 1000).toISOString().slice(0, 10);
    const until = h("input", { type: "date", value: inYear, testid: "kyc-until", "aria-label": t("Valid until") });
    root.append(section(t("KYC attest / revoke (实名认证)"),
      h("p", { class: "muted" }, "identity_hash = keccak256(reference): no personal data goes on-chain."),
      h("div", { class: "form-grid" },
        h("label", { class: "field" }, h("span", {}, t("Account")), who),
        h("label", { class: "field" }, h("span", {}, t("Identity reference")), ref),
        h("label", { class: "field" }, h("span", {}, t("Valid until")), until)),
      act(t("Attest"), "attest", async () => {
        const account = addressOf(who);
        const hash = keccak256(toUtf8Bytes(ref.value.trim() || account));
        // Valid until the end of the chosen day (chain time may run ahead of the wall clock).
        const chainNow = (await provider().getBlock("latest")).timestamp;
        const expires = Math.max(Math.floor(new Date(until.value + "T23:59:59Z").getTime() / 1000), chainNow + 86400);
        return runTx(`${t("Attest")} ${short(account)}`, async () => (await contract("IdentityRegistry", true)).attest(account, hash, expires));
      }), " ",
      act(t("Revoke"), "revoke", async () => {
        const account = addressOf(who);
        return runTx(`${t("Revoke")} ${short(account)}`, async () => (await contract("IdentityRegistry", true)).revoke(account));
      }, "danger")));
  }

  // Parameters and caps: everyone with a role reads them; the admin may change them.
  const current = await book.params();
  const PARAMS = paramsOf(book);
  const caps = {};
  for (const [, cap] of PARAMS) if (cap) caps[cap] = await book[cap]();
  const edits = {};
  const show = (value, kind) => (kind === "bps" ? pct(value) : `${days(value)} ${t("days")}`);
  root.append(section(t("Parameters and hard caps"),
    table(
      [
        { label: t("Parameter"), cell: (p) => h("code", {}, p[0]) },
        { label: t("Current"), cell: (p) => show(current[p[0]], p[2]), num: true },
        { label: t("Hard cap"), cell: (p) => (p[1] ? show(caps[p[1]], p[2]) : "100%"), num: true },
        has("LoanBook.DEFAULT_ADMIN_ROLE")
          ? { label: "", cell: (p) => (edits[p[0]] = h("input", { type: "number", value: String(current[p[0]]), testid: `param-${p[0]}`, size: 9 })) }
          : null,
      ].filter(Boolean),
      PARAMS,
      { testid: "params" },
    ),
    has("LoanBook.DEFAULT_ADMIN_ROLE")
      ? act("set_params", "set-params", async () => {
          const terms = PARAMS.map(([name]) => BigInt(edits[name].value));
          return runTx("set_params", async () => (await contract("LoanBook", true)).set_params(terms));
        })
      : null));

  if (has("LoanBook.DEFAULT_ADMIN_ROLE")) {
    const rows = [];
    for (const token of state.config.tokens) rows.push({ token, fees: await book.fees(token.address), reserve: await book.reserve(token.address) });
    root.append(section(t("Fees"),
      table(
        [
          { label: t("Token"), cell: (r) => r.token.symbol },
          { label: t("Fees"), cell: (r) => units(r.fees, r.token), num: true },
          { label: t("Risk reserve"), cell: (r) => units(r.reserve, r.token), num: true },
          { label: "", cell: (r) => act(t("Withdraw fees"), `withdraw-${r.token.symbol}`, async () => runTx(t("Withdraw fees"), async () => (await contract("LoanBook", true)).withdraw_fees(r.token.address))) },
        ],
        rows,
        { testid: "fees" },
      ),
      kv([["treasury", short(await book.treasury())]])));
  }
}
