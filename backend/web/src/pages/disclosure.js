// 信息披露: the platform's public statistics in token units, as charts and tables, with CSV.
import { api } from "../api.js";
import { chart } from "../charts.js";
import { afterMount, downloadCsv, h, kv, section, table } from "../dom.js";
import { plain, tokenOf, units } from "../format.js";
import { t } from "../i18n.js";

const rate = (r) => (r === null || r === undefined ? "–" : `${(r * 100).toFixed(2)}%`);

export async function render(root) {
  const stats = await api("/stats");
  root.append(
    h("h1", {}, t("Disclosure")),
    section(t("Platform statistics"), kv([
      [t("Loans"), stats.loans, "stat-loans"],
      [t("Borrowers"), stats.borrowers, "stat-borrowers"],
      [t("Lenders"), stats.lenders, "stat-lenders"],
      [t("Default rate"), rate(stats.default_rate_by_count), "stat-default-rate"],
    ]),
    table(
      [{ label: t("Status"), cell: (r) => t(r[0]) }, { label: t("Loans"), cell: (r) => r[1], num: true }],
      Object.entries(stats.loans_by_status),
      { testid: "by-status" },
    )),
  );

  for (const tokenStats of stats.tokens) {
    const token = tokenOf(tokenStats.token);
    const u = (a) => units(a, token);
    const n = (a) => Number(plain(a, token));
    const monthly = h("div", { class: "chart" });
    const overTime = h("div", { class: "chart", testid: "volume-outstanding-chart" });
    const grades = h("div", { class: "chart" });
    const reserve = h("div", { class: "chart" });
    const csv = () => {
      const header = ["token", "section", "key", "requested", "disbursed", "volume", "defaulted", "defaulted_principal", "repaid_amount", "default_rate", "outstanding_end"];
      const rows = [
        ...tokenStats.by_month.map((m) => [token.symbol, "month", m.month, m.requested, m.disbursed, plain(m.volume, token), m.defaulted, plain(m.defaulted_principal, token), plain(m.repaid_amount, token), "", plain(m.outstanding_end, token)]),
        ...tokenStats.by_grade.map((g) => [token.symbol, "grade", g.grade_letter, g.requested, g.disbursed, plain(g.volume, token), g.defaulted, "", "", g.default_rate ?? ""]),
      ];
      downloadCsv(`peerlend-disclosure-${token.symbol}.csv`, header, rows);
    };
    root.append(
      section(`${token.symbol}`,
        kv([
          [t("Volume"), u(tokenStats.volume.principal), "stat-volume"],
          [t("Outstanding"), u(tokenStats.principal_outstanding), "stat-outstanding"],
          [t("Overdue rate"), rate(tokenStats.overdue.rate)],
          [t("Default rate"), `${rate(tokenStats.default.rate)} (${tokenStats.default.count})`, "stat-token-default"],
          [t("Risk reserve"), u(tokenStats.reserve.balance), "stat-reserve"],
          [t("Reserve cover"), u(tokenStats.reserve.cover_paid), "stat-cover"],
          [t("Fees collected"), u(tokenStats.fees.collected)],
          [t("Penalty"), u(tokenStats.repaid.penalty)],
        ]),
        h("button", { testid: "download-csv", onclick: csv }, t("Download CSV")),
      ),
      section(t("Volume and outstanding over time"), overTime),
      h("div", { class: "grid" },
        section(t("By month of origination"), monthly),
        section(t("Reserve vs outstanding"), reserve)),
      section(t("By grade"), grades,
        table(
          [
            { label: t("Grade"), cell: (g) => g.grade_letter },
            { label: t("Requested"), cell: (g) => g.requested, num: true },
            { label: t("Disbursed"), cell: (g) => g.disbursed, num: true },
            { label: t("Volume"), cell: (g) => u(g.volume), num: true },
            { label: t("Outstanding"), cell: (g) => u(g.principal_outstanding), num: true },
            { label: t("Defaulted"), cell: (g) => g.defaulted, num: true },
            { label: t("Default rate"), cell: (g) => rate(g.default_rate), num: true },
          ],
          tokenStats.by_grade,
          { testid: "by-grade" },
        )),
      section(t("Overdue buckets"),
        table(
          [
            { label: "", cell: (r) => r[0] },
            { label: t("Loans"), cell: (r) => r[1].loans, num: true },
            { label: t("Past due"), cell: (r) => u(r[1].past_due), num: true },
            { label: t("Overdue rate"), cell: (r) => rate(r[1].rate), num: true },
          ],
          Object.entries(tokenStats.overdue.buckets),
        )),
      section(t("By month of origination"),
        table(
          [
            { label: t("Month"), cell: (m) => m.month },
            { label: t("Requested"), cell: (m) => m.requested, num: true },
            { label: t("Disbursed"), cell: (m) => `${m.disbursed} · ${u(m.volume)}`, num: true },
            { label: t("Repaid"), cell: (m) => u(m.repaid_amount), num: true },
            { label: t("Defaulted"), cell: (m) => `${m.defaulted} · ${u(m.defaulted_principal)}`, num: true },
            { label: t("Outstanding"), cell: (m) => u(m.outstanding_end), num: true },
          ],
          tokenStats.by_month,
          { testid: "by-month" },
        )),
    );
    afterMount(root, () => {
      const months = tokenStats.by_month.map((m) => m.month);
      // Each month's disbursed volume (bars) and the principal outstanding at its end (line).
      const drawn = chart(overTime, "bar", months, [
        { label: `${t("Volume")} (${token.symbol})`, data: tokenStats.by_month.map((m) => n(m.volume)) },
        { label: `${t("Outstanding")} (${token.symbol})`, data: tokenStats.by_month.map((m) => n(m.outstanding_end)), type: "line" },
      ]);
      overTime.dataset.points = JSON.stringify(drawn.data.datasets.map((ds) => ds.data));
      chart(monthly, "bar", months, [
        { label: t("Volume"), data: tokenStats.by_month.map((m) => n(m.volume)) },
        { label: t("Repaid"), data: tokenStats.by_month.map((m) => n(m.repaid_amount)) },
        { label: t("Defaulted"), data: tokenStats.by_month.map((m) => n(m.defaulted_principal)) },
      ]);
      chart(reserve, "bar", [token.symbol], [
        { label: t("Risk reserve"), data: [n(tokenStats.reserve.balance)] },
        { label: t("Outstanding"), data: [n(tokenStats.principal_outstanding)] },
      ], { indexAxis: "y" });
      chart(grades, "bar", tokenStats.by_grade.map((g) => g.grade_letter), [
        { label: t("Volume"), data: tokenStats.by_grade.map((g) => n(g.volume)), yAxisID: "y" },
        { label: `${t("Default rate")} %`, data: tokenStats.by_grade.map((g) => (g.default_rate ?? 0) * 100), type: "line", yAxisID: "y1" },
      ], { scales: { y: { position: "left" }, y1: { position: "right", min: 0, grid: { drawOnChartArea: false } } } });
    });
  }
}
