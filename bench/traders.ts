/** Bench helper: traders registered on L1 with ETH and an ERC-20 (token 1) deposit. */
import { rollupAbi, testTokenAbi } from "../contracts/abi";
import { connectL1, type L1Clients } from "../contracts/clients";
import type { ModexDeployment } from "../contracts/deploy";
import { generatePrivateKey, publicKeyOf } from "../core";

export interface BenchTrader {
  readonly priv: string;
  readonly id: number;
}

async function mined(c: L1Clients, hash: `0x${string}`): Promise<void> {
  const r = await c.publicClient.waitForTransactionReceipt({ hash });
  if (r.status !== "success") throw new Error(`L1 tx ${hash} reverted`);
}

/** One trader per L1 key: register with `eth` wei, then deposit `token1` units of token 1. */
export async function registerTraders(rpcUrl: string, chainId: number, dep: ModexDeployment, l1Keys: readonly `0x${string}`[], eth: bigint, token1: bigint): Promise<BenchTrader[]> {
  const out: BenchTrader[] = [];
  const token = dep.tokens[0].address;
  for (const l1Key of l1Keys) {
    const priv = generatePrivateKey();
    const key = publicKeyOf(priv);
    const l1 = await connectL1({ rpcUrl, privateKey: l1Key, chainId });
    const w = l1.walletClient;
    const id = Number(await l1.publicClient.readContract({ address: dep.rollup, abi: rollupAbi, functionName: "nextAccountId" }));
    await mined(l1, await w.writeContract({ address: dep.rollup, abi: rollupAbi, functionName: "register", args: [key.ax, key.ay, 0, eth], value: eth }));
    await mined(l1, await w.writeContract({ address: token, abi: testTokenAbi, functionName: "mint", args: [l1.account.address, token1] }));
    await mined(l1, await w.writeContract({ address: token, abi: testTokenAbi, functionName: "approve", args: [dep.rollup, token1] }));
    await mined(l1, await w.writeContract({ address: dep.rollup, abi: rollupAbi, functionName: "deposit", args: [id, 1, token1] }));
    out.push({ priv, id });
  }
  return out;
}
