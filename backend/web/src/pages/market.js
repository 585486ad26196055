// 借款标的: open requests with grade, APR, term, method, amount, funding progress and time left.
import { api, query } from "../api.js";
import { h, section, table } from "../dom.js";
import { days, duration, grade, pct, statusBadge, units } from "../format.js";
import { t } from "../i18n.js";

const SORTS = [
  ["-id", "Newest"],
  ["-apr_bps", "Highest APR"],
  ["-principal", "Largest"],
  ["funding_deadline", "Ending soon"],
];
const STATUSES = ["OPEN", "FUNDED", "ACTIVE", "REPAID", "DEFAULTED", "CANCELLED", "EXPIRED"];

export function progress(funded, principal) {
  const share = Number((BigInt(funded) * 1000n) / BigInt(principal || 1)) / 10;
  return h(
    "div",
    { class: "progress", role: "progressbar", "aria-valuenow": share, "aria-valuemin": 0, "aria-valuemax": 100, testid: "progress" },
    h("div", { class: "bar", style: `width:${share}%` }),
    h("span", {}, `${share.toFixed(1)}%`),
  );
}

export async function render(root, { params }) {
  const status = params.get("status") ?? "OPEN";
  const gradeFilter = params.get("grade") ?? "";
  const sort = params.get("sort") ?? "-id";
  const page = await api("/loans" + query({ status, grade: gradeFilter, sort, limit: 100 }));
  const asOf = (await api("/health")).indexed_timestamp ?? Math.floor(Date.now() / 1000);

  const go = (changes) => {
    const next = new URLSearchParams({ status, grade: gradeFilter, sort, ...changes });
    location.hash = `#/market?${next}`;
  };
  const filters = h(
    "div",
    { class: "filters" },
    h("label", {}, t("Status"), " ", h("select", { testid: "filter-status", onchange: (e) => go({ status: e.target.value }) },
      h("option", { value: "", selected: status === "" }, t("All")),
      STATUSES.map((s) => h("option", { value: s, selected: s === status }, t(s))))),
    h("label", {}, t("Grade"), " ", h("select", { testid: "filter-grade", onchange: (e) => go({ grade: e.target.value }) },
      h("option", { value: "" }, t("All")),
      ["A", "B", "C", "D", "E"].map((g) => h("option", { value: g, selected: g === gradeFilter }, g)))),
    h("label", {}, t("Sort"), " ", h("select", { testid: "sort", onchange: (e) => go({ sort: e.target.value }) },
      SORTS.map(([value, label]) => h("option", { value, selected: value === sort }, t(label))))),
  );
  const columns = [
    { label: t("Loan"), cell: (l) => h("a", { href: `#/loan/${l.id}`, testid: `loan-link-${l.id}` }, `#${l.id}`) },
    { label: t("Grade"), cell: (l) => grade(l.grade_letter) },
    { label: t("APR"), cell: (l) => pct(l.apr_bps), num: true },
    { label: t("Term"), cell: (l) => t("{n} × {days} days", { n: l.installments, days: days(l.period_seconds) }) },
    { label: t("Method"), cell: (l) => t(l.method) },
    { label: t("Amount"), cell: (l) => units(l.principal, l.token), num: true },
    { label: t("Progress"), cell: (l) => progress(l.funded, l.principal) },
    { label: t("Time left"), cell: (l) => (l.status === "OPEN" ? duration(l.funding_deadline - asOf) : statusBadge(l.status)) },
  ];
  root.append(
    h("h1", {}, t("Market")),
    section(
      t("Open requests"),
      filters,
      page.items.length ? table(columns, page.items, { testid: "market-table" }) : h("p", { class: "muted", testid: "market-empty" }, t("No loans match.")),
    ),
  );
}
