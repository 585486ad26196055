// Peerlend web app: hash routes (#/market, #/loan/3, #/borrow, #/portfolio, #/disclosure,
// #/audit, #/operator), a header with the wallet and the language, and live re-rendering.
import { api } from "./api.js";
import { destroyCharts } from "./charts.js";
import { clear, h } from "./dom.js";
import { short } from "./format.js";
import { getLang, setLang, t } from "./i18n.js";
import { onIndexed, start as startLive } from "./live.js";
import { state } from "./state.js";
import { choose, connect, discover, onWalletChange, switchChain, wallets } from "./wallet.js";
import * as market from "./pages/market.js";
import * as loan from "./pages/loan.js";
import * as borrow from "./pages/borrow.js";
import * as portfolio from "./pages/portfolio.js";
import * as disclosure from "./pages/disclosure.js";
import * as audit from "./pages/audit.js";
import * as operator from "./pages/operator.js";
import { operatorRoles } from "./pages/operator.js";

const PAGES = { market, loan, borrow, portfolio, disclosure, audit, operator };
const NAV = [
  ["market", "Market"],
  ["borrow", "Borrow"],
  ["portfolio", "Portfolio"],
  ["disclosure", "Disclosure"],
  ["audit", "Audit"],
];
let dirty = false; // the user typed into the page: live updates wait for the next navigation
let rendering = 0;
let roles = [];

function route() {
  const [path, search = ""] = location.hash.replace(/^#\/?/, "").split("?");
  const [name, ...rest] = path.split("/");
  return { name: PAGES[name] ? name : "market", args: rest, params: new URLSearchParams(search) };
}

export async function rerender() {
  const current = route();
  const root = document.getElementById("page");
  const ticket = ++rendering;
  dirty = false;
  drawHeader(current.name);
  const fresh = h("div", { class: "page", testid: `page-${current.name}` });
  try {
    await PAGES[current.name].render(fresh, current, { rerender });
  } catch (error) {
    fresh.replaceChildren(h("p", { class: "error", testid: "page-error" }, error.message));
  }
  if (ticket !== rendering) return; // a newer render started meanwhile
  destroyCharts();
  clear(root, fresh);
  root.dataset.ready = String(state.head ?? "");
  for (const fn of fresh.afterMount || []) fn();
}

function drawHeader(active) {
  const top = document.getElementById("top");
  const links = [...NAV];
  if (roles.length) links.push(["operator", "Operator"]);
  const walletArea = state.account
    ? h("span", { class: "account", testid: "account", title: state.account }, `${state.walletName === "window.ethereum" ? "" : state.walletName + " · "}${short(state.account)}`)
    : h(
        "button",
        {
          class: "primary",
          testid: "connect",
          onclick: () => connect().catch((error) => showBanner(error.message)),
        },
        t("Connect wallet"),
      );
  const choices = wallets();
  clear(
    top,
    h("a", { class: "brand", href: "#/market" }, "Peerlend"),
    h(
      "nav",
      {},
      links.map(([name, label]) => h("a", { href: `#/${name}`, class: name === active ? "active" : "", testid: `nav-${name}` }, t(label))),
    ),
    h(
      "div",
      { class: "tools" },
      choices.length > 1
        ? h(
            "select",
            {
              "aria-label": t("Choose wallet"),
              testid: "wallet-choice",
              onchange: (e) => choose(choices[e.target.selectedIndex].provider, choices[e.target.selectedIndex].name),
            },
            choices.map((c) => h("option", { selected: c.name === state.walletName }, c.name)),
          )
        : null,
      h(
        "button",
        {
          class: "lang",
          testid: "lang",
          "aria-label": t("Language"),
          onclick: () => {
            setLang(getLang() === "zh" ? "en" : "zh");
            rerender();
          },
        },
        getLang() === "zh" ? "English" : "中文",
      ),
      walletArea,
    ),
  );
  drawBanner();
}

function showBanner(message) {
  clear(document.getElementById("banner"), h("div", { class: "banner error", testid: "banner" }, message));
}

function drawBanner() {
  const banner = document.getElementById("banner");
  if (!state.wallet) {
    return clear(banner, h("div", { class: "banner", testid: "no-wallet" }, t("No wallet found: install an EIP-1193 wallet (MetaMask or another) to sign.")));
  }
  if (state.account && state.chainId !== null && state.chainId !== state.config.chain_id) {
    return clear(
      banner,
      h(
        "div",
        { class: "banner error", testid: "wrong-chain" },
        t("Wrong network: your wallet is on chain {have}, Peerlend runs on chain {want}.", { have: state.chainId, want: state.config.chain_id }),
        " ",
        h("button", { class: "primary", testid: "switch-chain", onclick: () => switchChain().catch((e) => showBanner(e.message)) }, t("Switch network")),
      ),
    );
  }
  clear(banner);
}

async function refreshRoles() {
  roles = state.account && state.chainId === state.config.chain_id ? await operatorRoles(state.account).catch(() => []) : [];
}

async function boot() {
  try {
    state.config = await api("/app/config.json");
  } catch (error) {
    clear(document.getElementById("page"), h("p", { class: "error", testid: "page-error" }, error.message));
    return;
  }
  document.getElementById("page").addEventListener("input", () => (dirty = true));
  let lastKey = null;
  onWalletChange(async () => {
    const key = `${state.account}|${state.chainId}`;
    if (key === lastKey) return drawHeader(route().name);
    lastKey = key;
    await refreshRoles();
    rerender();
  });
  discover();
  window.addEventListener("hashchange", () => rerender());
  onIndexed(() => {
    if (!dirty && !document.querySelector("#page [data-busy]")) rerender();
  });
  startLive();
  rerender();
}

boot();
