// The user's wallet: EIP-6963 discovery (several wallets) with window.ethereum as fallback,
// the chain check, contracts bound to the wallet's signer, and transactions shown as
// pending → confirmed (block) or the contract's revert reason in plain words. The page never
// sees or asks for a private key: every signature is made by the wallet.
import { BrowserProvider, Contract, getAddress } from "ethers";
import { h } from "./dom.js";
import { t } from "./i18n.js";
import { state } from "./state.js";

const announced = new Map(); // uuid -> {info, provider}
const listeners = new Set();
let bound = null;

export function onWalletChange(fn) {
  listeners.add(fn);
}

function changed() {
  for (const fn of listeners) fn();
}

export function discover() {
  window.addEventListener("eip6963:announceProvider", (event) => {
    const { info, provider } = event.detail || {};
    if (!info || !provider) return;
    announced.set(info.uuid, { info, provider });
    if (!state.wallet) choose(provider, info.name);
    changed();
  });
  window.dispatchEvent(new Event("eip6963:requestProvider"));
  if (!state.wallet && window.ethereum) choose(window.ethereum, "window.ethereum");
}

export function wallets() {
  const list = [...announced.values()].map(({ info, provider }) => ({ name: info.name, provider }));
  if (!list.length && window.ethereum) list.push({ name: "window.ethereum", provider: window.ethereum });
  return list;
}

export function choose(provider, name) {
  if (bound && bound.removeListener) {
    bound.removeListener("accountsChanged", onAccounts);
    bound.removeListener("chainChanged", onChain);
  }
  state.wallet = provider;
  state.walletName = name;
  bound = provider;
  provider.on?.("accountsChanged", onAccounts);
  provider.on?.("chainChanged", onChain);
  // Already authorised accounts, without a prompt.
  provider
    .request({ method: "eth_accounts" })
    .then(onAccounts)
    .catch(() => {});
  provider
    .request({ method: "eth_chainId" })
    .then(onChain)
    .catch(() => {});
}

function onAccounts(accounts) {
  state.account = accounts && accounts.length ? getAddress(accounts[0]) : null;
  changed();
}

function onChain(chainId) {
  state.chainId = Number(chainId);
  changed();
}

export async function connect() {
  if (!state.wallet) throw new Error(t("No wallet found: install an EIP-1193 wallet (MetaMask or another) to sign."));
  onAccounts(await state.wallet.request({ method: "eth_requestAccounts" }));
  onChain(await state.wallet.request({ method: "eth_chainId" }));
}

export async function switchChain() {
  const chainId = "0x" + state.config.chain_id.toString(16);
  try {
    await state.wallet.request({ method: "wallet_switchEthereumChain", params: [{ chainId }] });
  } catch (error) {
    if (error?.code !== 4902) throw error;
    await state.wallet.request({
      method: "wallet_addEthereumChain",
      params: [
        {
          chainId,
          chainName: state.config.chain_name,
          rpcUrls: [state.config.rpc_url],
          nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
        },
      ],
    });
    // Some wallets switch on add, others only add: ask again (a no-op when already there).
    await state.wallet.request({ method: "wallet_switchEthereumChain", params: [{ chainId }] });
  }
  onChain(await state.wallet.request({ method: "eth_chainId" }));
}

let cached = null;
export function provider() {
  // One provider per wallet and chain; poll fast: a local chain mines each transaction at once.
  if (!cached || cached.wallet !== state.wallet || cached.chainId !== state.chainId) {
    cached = { wallet: state.wallet, chainId: state.chainId, provider: new BrowserProvider(state.wallet, state.config.chain_id, { pollingInterval: 500 }) };
  }
  return cached.provider;
}

export function contract(name, withSigner = false) {
  const entry = state.config.contracts[name];
  return withSigner
    ? provider()
        .getSigner(state.account)
        .then((signer) => new Contract(entry.address, entry.abi, signer))
    : Promise.resolve(new Contract(entry.address, entry.abi, provider()));
}

export const ERC20 = [
  "function balanceOf(address) view returns (uint256)",
  "function allowance(address owner, address spender) view returns (uint256)",
  "function approve(address spender, uint256 amount) returns (bool)",
];

export async function erc20(address, withSigner = false) {
  const runner = withSigner ? await provider().getSigner(state.account) : provider();
  return new Contract(address, ERC20, runner);
}

// Reasons the contracts give, in plain words. Anything else is shown as the contract said it.
const PLAIN = {
  "loanbook: not open": "This loan is no longer open for funding.",
  "loanbook: funding closed": "The funding deadline has passed.",
  "loanbook: borrower cannot fund": "A borrower cannot fund their own loan.",
  "loanbook: zero amount": "Enter an amount above zero.",
  "loanbook: paused": "The platform is paused: requests, funding and disbursement wait.",
  "loanbook: not allowed": "This wallet is not allowed to do that.",
  "loanbook: in review": "The review window is not over yet.",
  "loanbook: review over": "The review window is over: it can no longer be vetoed.",
  "loanbook: not active": "This loan is not being repaid (not active).",
  "loanbook: nothing owed": "Nothing is owed on this loan now.",
  "loanbook: not in default": "This loan is not late enough to be marked in default.",
  "loanbook: nothing to claim": "This note has nothing to claim yet.",
  "loanbook: borrower not verified": "You need a valid KYC attestation to borrow.",
  "loanbook: borrower blocked": "This borrower is on the blocklist.",
  "loanbook: lender blocked": "This lender is on the blocklist.",
  "loanbook: lender not verified": "You need a valid KYC attestation to fund this amount.",
  "loanbook: score expired": "Your credit score has expired: apply for a new one.",
  "loanbook: over grade cap": "The amount is above your grade's loan cap.",
  "loanbook: over exposure cap": "This would take you over your grade's outstanding cap.",
  "loanbook: apr below grade floor": "The APR is below your grade's minimum.",
  "loanbook: no fees": "There are no fees to withdraw.",
  "loanbook: not expired": "The funding deadline has not passed.",
  "oracle: request cooldown": "You asked for a score recently: wait for the cooldown to end, then ask again.",
  "identity: identity in use": "This identity is already attested to another wallet.",
  "identity: expired": "Choose a validity date in the future.",
  "identity: not attested": "This wallet has no KYC attestation to revoke.",
  "pausable: contract is paused": "The platform is paused: requests, funding and disbursement wait.",
  "erc20: transfer amount exceeds balance": "Your token balance is too low.",
  "erc20: insufficient allowance": "The token allowance is too low: approve first.",
  "ERC20: insufficient balance": "Your token balance is too low.",
  "erc20: insufficient balance": "Your token balance is too low.",
};

export function revertReason(error) {
  let reason =
    error?.reason ||
    error?.revert?.args?.[0] ||
    error?.info?.error?.message ||
    error?.error?.message ||
    error?.shortMessage ||
    error?.message ||
    String(error);
  reason = String(reason).replace(/^execution reverted:?\s*/i, "").replace(/^Error:\s*/, "");
  if (error?.code === 4001 || error?.code === "ACTION_REJECTED" || error?.info?.error?.code === 4001) {
    return t("You rejected the request in the wallet.");
  }
  const key = Object.keys(PLAIN).find((k) => reason.includes(k));
  return key ? `${t(PLAIN[key])} (${key})` : reason;
}

// Runs `send()` (which returns a ContractTransactionResponse), showing its progress in the
// transaction log; resolves with the receipt, or throws with the plain reason (shown too).
export async function runTx(label, send) {
  const line = h("div", { class: "tx tx-wait", testid: "tx" }, h("b", {}, label), " ", h("span", {}, t("Waiting for the wallet…")));
  const log = document.getElementById("txlog");
  log.prepend(line);
  for (const old of [...log.children].slice(6)) old.remove(); // the newest six stay
  const text = line.querySelector("span");
  try {
    const tx = await send();
    line.className = "tx tx-pending";
    line.dataset.hash = tx.hash;
    text.textContent = t("Pending: {hash}", { hash: tx.hash.slice(0, 10) + "…" });
    const receipt = await tx.wait();
    line.className = "tx tx-ok";
    line.dataset.block = receipt.blockNumber;
    text.textContent = t("Confirmed in block {block}", { block: receipt.blockNumber });
    line.append(h("button", { class: "link", "aria-label": "close", onclick: () => line.remove() }, "×"));
    return receipt;
  } catch (error) {
    const reason = revertReason(error);
    line.className = "tx tx-error";
    text.textContent = t("Refused: {reason}", { reason });
    line.append(h("button", { class: "link", "aria-label": "close", onclick: () => line.remove() }, "×"));
    const wrapped = new Error(reason);
    wrapped.shown = true;
    throw wrapped;
  }
}

// Approves `amount` of `token` to the book if the allowance is short, then runs `send`.
export async function withApproval(token, amount, label, send) {
  const book = state.config.contracts.LoanBook.address;
  const reader = await erc20(token);
  const allowance = await reader.allowance(state.account, book);
  if (allowance < amount) {
    const writer = await erc20(token, true);
    await runTx(t("Approve {amount}", { amount: label }), () => writer.approve(book, amount));
  }
  return send();
}
