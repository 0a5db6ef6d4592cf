/** viem clients for the L1 (anvil devnet or any JSON-RPC endpoint). */
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  type Chain,
  type Hex,
  type PrivateKeyAccount,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";

export interface L1Clients {
  readonly chain: Chain;
  readonly publicClient: PublicClient<Transport, Chain>;
  readonly walletClient: WalletClient<Transport, Chain, PrivateKeyAccount>;
  readonly account: PrivateKeyAccount;
}

export interface ConnectL1Options {
  readonly rpcUrl: string;
  readonly privateKey: Hex;
  /** Known chain id; fetched with eth_chainId when omitted. */
  readonly chainId?: number;
  /** Receipt/block polling interval (default 100 ms: devnets mine instantly). */
  readonly pollingIntervalMs?: number;
}

/** A viem chain for an arbitrary JSON-RPC endpoint. */
export function l1Chain(rpcUrl: string, chainId: number): Chain {
  return defineChain({
    id: chainId,
    name: `l1-${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
}

export async function connectL1(opts: ConnectL1Options): Promise<L1Clients> {
  const pollingInterval = opts.pollingIntervalMs ?? 100;
  const chainId = opts.chainId ?? (await createPublicClient({ transport: http(opts.rpcUrl) }).getChainId());
  const chain = l1Chain(opts.rpcUrl, chainId);
  const account = privateKeyToAccount(opts.privateKey);
  const publicClient = createPublicClient({ chain, transport: http(opts.rpcUrl), pollingInterval });
  const walletClient = createWalletClient({ chain, account, transport: http(opts.rpcUrl), pollingInterval });
  return { chain, publicClient, walletClient, account };
}
