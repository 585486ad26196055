// What every page shares: the chain configuration and the wallet.
export const state = {
  config: null, // /app/config.json
  wallet: null, // the chosen EIP-1193 provider
  walletName: null,
  account: null, // checksummed address or null
  chainId: null, // number the wallet reports
  head: null, // last indexed block, from /health or the stream
};

export function chainOk() {
  return state.account && state.config && state.chainId === state.config.chain_id;
}
