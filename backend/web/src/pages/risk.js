// 风控管理 in the operator console: early warning (buckets, rolls, drift, concentration), the
// vintage chart, and AML alerts with their evidence; the risk officer acknowledges an alert
// (with the operator token) and can blocklist its accounts on chain from here.
import { api } from "../api.js";
import { chart } from "../charts.js";
import { afterMount, h, kv, section, table } from "../dom.js";
import { date, short, units } from "../format.js";
import { t } from "../i18n.js";
import { contract, runTx } from "../wallet.js";

const TOKEN_KEY = "peerlend.operatorToken";

export async function renderRisk(root, { act, canBlock }) {
  const [warning, vintages, alerts] = await Promise.all([
    api("/risk/early-warning"),
    api("/risk/vintages?grade=all"),
    api("/risk/alerts?status=all&limit=200"),
  ]);

  const buckets = Object.entries(warning.borrowers_by_bucket);
  root.append(section(t("Early warning (风险预警)"),
    kv(buckets.map(([bucket, n]) => [bucket, String(n), `bucket-${bucket}`]), { testid: "buckets" }),
    table(
      [
        { label: t("Borrower"), cell: (r) => h("a", { href: `#/portfolio/${r.borrower}` }, short(r.borrower)) },
        { label: t("From"), cell: (r) => r.previous_bucket },
        { label: t("To"), cell: (r) => r.bucket },
        { label: t("Days past due"), cell: (r) => String(r.days_past_due), num: true },
        { label: t("Since"), cell: (r) => date(r.bucket_since) },
      ],
      warning.rolled_worse,
      { testid: "rolled-worse" },
    ),
    warning.drift_warnings.length
      ? h("ul", { testid: "drift-warnings" }, warning.drift_warnings.map((d) =>
          h("li", { class: "error" }, t("Grade {g}: observed default {d}% / 30+ DPD {l}% outside PD band {lo}–{hi}%", {
            g: d.grade_letter, d: (d.default_rate * 100).toFixed(1), l: (d.dpd30_rate * 100).toFixed(1),
            lo: (d.pd_band[0] * 100).toFixed(1), hi: (d.pd_band[1] * 100).toFixed(1),
          }))))
      : null,
    warning.concentration_warnings.length
      ? h("ul", { testid: "concentration-warnings" }, warning.concentration_warnings.map((c) =>
          h("li", {}, t("{side} {account} holds {share}% of outstanding", { side: c.side, account: short(c.account), share: (c.share * 100).toFixed(1) }))))
      : null));

  const holder = h("div", { class: "chart", testid: "vintage-chart" });
  root.append(section(t("Vintage curves (账龄分析)"),
    h("p", { class: "muted" }, t("Cumulative 30+ days-past-due and default rate by months on book, per origination month (by principal).")),
    holder));
  afterMount(root, () => {
    const longest = Math.max(1, ...vintages.cohorts.map((c) => c.curve.length));
    const labels = Array.from({ length: longest }, (_, i) => `${t("MOB")} ${i + 1}`);
    const datasets = vintages.cohorts.flatMap((c) => [
      { label: `${c.origination_month} 30+ DPD`, data: c.curve.map((p) => (p.dpd30_rate ?? 0) * 100) },
      { label: `${c.origination_month} ${t("default")}`, data: c.curve.map((p) => (p.default_rate ?? 0) * 100), borderDash: [6, 3] },
    ]);
    chart(holder, "line", labels, datasets, { scales: { y: { min: 0, title: { display: true, text: "%" } } } });
  });

  const token = h("input", { type: "password", testid: "operator-token", "aria-label": t("Operator token"), value: sessionStorage.getItem(TOKEN_KEY) || "" });
  const officer = h("input", { testid: "ack-by", "aria-label": t("Officer"), placeholder: t("Officer") });
  const ack = (alert, action) => async () => {
    sessionStorage.setItem(TOKEN_KEY, token.value);
    const response = await api(`/risk/alerts/${alert.id}/ack`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", authorization: `Bearer ${token.value}` },
      body: JSON.stringify({ action, by: officer.value || "risk officer", note: "" }),
    });
    return { blockNumber: response.as_of.block };
  };
  const blocklist = (alert) => async () => {
    let receipt = null;
    for (const account of alert.accounts.filter((a) => !alert.blocked[a])) {
      receipt = await runTx(`${t("Add to blocklist")} ${short(account)}`, async () => (await contract("IdentityRegistry", true)).set_blocked(account, true));
    }
    await ack(alert, "blocklisted")();
    return receipt || { blockNumber: 0 };
  };
  const evidence = (a) => h("ul", { class: "evidence" }, a.evidence.map((e) =>
    h("li", {}, h("code", { title: e.tx_hash }, short(e.tx_hash)), " ", e.kind,
      e.amount ? ` · ${units(e.amount, e.token || Object.keys(a.amounts)[0])}` : "",
      e.from ? ` · ${short(e.from)} → ${short(e.to)}` : "")));
  root.append(section(t("AML alerts (反洗钱)"),
    h("div", { class: "form-grid" },
      h("label", { class: "field" }, h("span", {}, t("Operator token")), token),
      h("label", { class: "field" }, h("span", {}, t("Officer")), officer)),
    table(
      [
        { label: t("Rule"), cell: (a) => h("code", {}, a.rule) },
        { label: t("Alert"), cell: (a) => a.title },
        { label: t("Accounts"), cell: (a) => a.accounts.map((x) => h("span", { class: blockedClass(a, x) }, short(x), " ")) },
        { label: t("Evidence"), cell: evidence },
        { label: t("Time"), cell: (a) => date(a.timestamp) },
        {
          label: t("Status"),
          cell: (a) => a.ack
            ? h("span", { testid: `ack-${a.id}` }, `${a.ack.action} · ${a.ack.by}`)
            : [
                act(t("Dismiss"), `dismiss-${a.id}`, ack(a, "dismissed"), ""), " ",
                act(t("Escalate"), `escalate-${a.id}`, ack(a, "escalated"), ""), " ",
                canBlock ? act(t("Blocklist"), `blocklist-${a.id}`, blocklist(a), "danger") : null,
              ],
        },
      ],
      alerts.items,
      { testid: "alerts" },
    )));
}

function blockedClass(alert, account) {
  return alert.blocked[account] ? "blocked" : "";
}
