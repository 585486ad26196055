// Amounts in token units with the symbol, rates in percent, times as dates.
import { formatUnits, parseUnits } from "ethers";
import { getLang, t } from "./i18n.js";
import { state } from "./state.js";

export function tokenOf(address) {
  const found = state.config?.tokens.find((tk) => tk.address.toLowerCase() === String(address).toLowerCase());
  return found || { address, symbol: "?", decimals: 18 };
}

// "1,234.56 USDP" from a base-unit string; at most `digits` decimals shown, never rounded up.
export function units(amount, token, digits = 2) {
  if (amount === null || amount === undefined) return "–";
  const tk = typeof token === "object" ? token : tokenOf(token);
  const text = formatUnits(BigInt(amount), tk.decimals);
  const [whole, frac = ""] = text.split(".");
  const grouped = BigInt(whole.replace("-", "")).toLocaleString("en-US");
  const sign = whole.startsWith("-") ? "-" : "";
  const shown = frac.slice(0, digits).padEnd(digits, "0");
  return `${sign}${grouped}${digits ? "." + shown : ""} ${tk.symbol}`;
}

// Token units typed by a person ("1,000.5") → base units (BigInt); throws on nonsense.
export function toBase(text, token) {
  const tk = typeof token === "object" ? token : tokenOf(token);
  const clean = String(text).replaceAll(",", "").trim();
  if (!/^\d+(\.\d+)?$/.test(clean)) throw new Error(t("Amount") + ": " + text);
  return parseUnits(clean, tk.decimals);
}

export function plain(amount, token) {
  const tk = typeof token === "object" ? token : tokenOf(token);
  return formatUnits(BigInt(amount), tk.decimals);
}

export function pct(bps) {
  return `${(Number(bps) / 100).toFixed(2)}%`;
}

export function date(ts, withTime = true) {
  if (!ts) return "–";
  const d = new Date(Number(ts) * 1000);
  const locale = getLang() === "zh" ? "zh-CN" : "en-GB";
  return withTime
    ? d.toLocaleString(locale, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" })
    : d.toLocaleDateString(locale, { year: "numeric", month: "short", day: "numeric" });
}

export function days(seconds) {
  return Math.round(Number(seconds) / 86400);
}

export function duration(seconds) {
  if (seconds <= 0) return t("closed");
  const d = Math.floor(seconds / 86400);
  const hours = Math.floor((seconds % 86400) / 3600);
  return t("{days} d {hours} h", { days: d, hours });
}

export function short(address) {
  return address ? `${address.slice(0, 6)}…${address.slice(-4)}` : "–";
}

export function grade(letter) {
  const span = document.createElement("span");
  span.className = `grade grade-${letter || "none"}`;
  span.textContent = letter || "–";
  return span;
}

export function statusBadge(status) {
  const span = document.createElement("span");
  span.className = `status status-${status}`;
  span.dataset.testid = "status";
  span.dataset.status = status;
  span.textContent = t(status);
  return span;
}
