// Audit: the event explorer (filters, CSV export) and the reconciliation result (对账).
import { api, query } from "../api.js";
import { clear, h, section, table } from "../dom.js";
import { date, short } from "../format.js";
import { t } from "../i18n.js";

const FILTERS = ["contract", "name", "account", "loan_id", "from_block", "to_block"];

export async function render(root, { params }) {
  const filters = Object.fromEntries(FILTERS.map((k) => [k, params.get(k) ?? ""]));
  const page = await api("/events" + query({ ...filters, order: "desc", limit: 200 }));
  const inputs = {
    contract: h("select", { name: "contract" }, ["", "LoanBook", "LoanNote", "IdentityRegistry", "CreditOracle"].map((c) => h("option", { value: c, selected: c === filters.contract }, c || t("All")))),
    name: h("input", { name: "name", value: filters.name, placeholder: "Repayment" }),
    account: h("input", { name: "account", value: filters.account, placeholder: "0x…" }),
    loan_id: h("input", { name: "loan_id", type: "number", value: filters.loan_id }),
    from_block: h("input", { name: "from_block", type: "number", value: filters.from_block }),
    to_block: h("input", { name: "to_block", type: "number", value: filters.to_block }),
  };
  const labels = { contract: "Contract", name: "Name", account: "Account", loan_id: "Loan", from_block: "From block", to_block: "To block" };
  const form = h("form", {
    class: "filters",
    testid: "event-filters",
    onsubmit: (e) => {
      e.preventDefault();
      const next = Object.fromEntries(Object.entries(inputs).map(([k, el]) => [k, el.value.trim()]));
      location.hash = `#/audit${query(next)}`;
    },
  }, Object.entries(inputs).map(([k, el]) => h("label", {}, t(labels[k]), " ", el)), h("button", { class: "primary", type: "submit" }, t("Filter")));
  const reconcileBox = h("div", { testid: "reconcile" });
  root.append(
    h("h1", {}, t("Audit")),
    section(t("Events"), form,
      h("p", {}, h("span", { testid: "event-total" }, `${page.total}`), ` ${t("Events")} · `,
        h("a", { href: "/events" + query({ ...filters, format: "csv", limit: 10000 }), download: "events.csv", testid: "export-csv" }, t("Export CSV"))),
      table(
        [
          { label: t("Block"), cell: (e) => e.block_number, num: true },
          { label: t("Date"), cell: (e) => date(e.block_timestamp) },
          { label: t("Contract"), cell: (e) => e.contract },
          { label: t("Event"), cell: (e) => h("b", {}, e.name) },
          { label: t("Loan"), cell: (e) => (e.loan_id ? h("a", { href: `#/loan/${e.loan_id}` }, `#${e.loan_id}`) : "") },
          { label: t("Transaction"), cell: (e) => h("span", { class: "mono", title: e.tx_hash }, short(e.tx_hash)) },
          { label: "args", cell: (e) => h("code", { class: "args" }, Object.entries(e.args).map(([k, v]) => `${k}=${String(v).length > 18 ? short(String(v)) : v}`).join(" ")) },
        ],
        page.items,
        { testid: "events" },
      )),
    section(t("Reconciliation (对账)"),
      h("button", {
        testid: "run-reconcile",
        onclick: async () => {
          clear(reconcileBox, t("Loading…"));
          try {
            const report = await api("/reconcile");
            const problems = report.mismatches || report.problems || report.differences || [];
            const ok = report.ok ?? problems.length === 0;
            clear(reconcileBox,
              h("p", { class: ok ? "ok" : "error", testid: "reconcile-result" }, ok ? t("SQL mirror matches the chain") : t("Mismatches found")),
              h("pre", { class: "json" }, JSON.stringify(report, null, 1).slice(0, 4000)));
          } catch (error) {
            clear(reconcileBox, h("p", { class: "error" }, error.message));
          }
        },
      }, t("Run reconciliation")),
      reconcileBox),
  );
}
