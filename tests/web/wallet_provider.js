// An EIP-1193 test wallet injected into the page before any script runs (add_init_script).
// Every request goes to the Python side (`__peerlendWalletRpc`, a Playwright binding), which
// answers account and chain requests itself and forwards the rest to anvil, which signs for
// its unlocked dev accounts. Announced through EIP-6963 and as window.ethereum.
// A second wallet in the same page (EIP-6963 discovery test) sets window.__peerlendWalletSpec first.
(() => {
  const spec = window.__peerlendWalletSpec || {
    binding: "__peerlendWalletRpc", global: "__peerlendWallet", primary: true,
    uuid: "5e5f9d3a-1c1b-4c6e-9a63-peerlend0001", name: "Peerlend Test Wallet", rdns: "org.peerlend.testwallet",
  };
  delete window.__peerlendWalletSpec;
  const listeners = {};
  class RpcError extends Error {
    constructor({ code, message, data }) {
      super(message);
      this.code = code;
      this.data = data;
    }
  }
  const provider = {
    isPeerlendTestWallet: true,
    async request({ method, params }) {
      const answer = await window[spec.binding](method, params === undefined ? [] : params);
      if (answer.error) throw new RpcError(answer.error);
      return answer.result;
    },
    on(event, fn) {
      (listeners[event] ||= []).push(fn);
      return provider;
    },
    removeListener(event, fn) {
      listeners[event] = (listeners[event] || []).filter((f) => f !== fn);
      return provider;
    },
    emit(event, value) {
      for (const fn of listeners[event] || []) fn(value);
    },
  };
  window[spec.global] = provider;
  if (spec.primary) window.ethereum = provider;
  const info = {
    uuid: spec.uuid,
    name: spec.name,
    icon: "data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg' width='8' height='8'/>",
    rdns: spec.rdns,
  };
  const announce = () =>
    window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail: Object.freeze({ info, provider }) }));
  window.addEventListener("eip6963:requestProvider", announce);
  announce();
})();
