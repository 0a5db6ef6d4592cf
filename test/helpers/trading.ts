/**
 * Shared by the trading tests: L1 users (register with ETH or a test token), signed orders, and a
 * model that replays the sequencer's batches with core from the queue and what the API shows
 * (fill bodies come from GET /v1/txs/:hash), checking roots and public inputs.
 */
import { ANVIL_DEV_PRIVATE_KEYS } from "../../chain/anvil";
import { rollupAbi, testTokenAbi } from "../../contracts/abi";
import { connectL1, type L1Clients } from "../../contracts/clients";
import type { ModexDeployment } from "../../contracts/deploy";
import {
  buildBatch, fieldToHex, parseShapeKey, generatePrivateKey, orderMessage, publicKeyOf, queueHashNext, signMessage,
  State, type FillOp, type L2Tx, type Order, type Params, type PublicKey, type QueueRecord,
} from "../../core";
import { MAX_U32 } from "../../core/field";
import type { Domain } from "../../core/domain";
import type { ModexApiClient } from "../../cli/api-client";
import type { BatchInfo } from "../../sequencer/views";
import { parseStoredFill, parseTx, type WireOp } from "../../sequencer/wire";

export interface Trader {
  readonly priv: string;
  readonly key: PublicKey;
  readonly l1: L1Clients;
  id: number;
}

export async function mined(c: L1Clients, hash: `0x${string}`): Promise<void> {
  const r = await c.publicClient.waitForTransactionReceipt({ hash });
  if (r.status !== "success") throw new Error(`L1 tx ${hash} reverted`);
}

/** Registers a new L2 account from anvil dev account `i`, funded with `amount` of `token` (minted for ERC-20s). */
export async function registerTrader(rpcUrl: string, chainId: number, dep: ModexDeployment, i: number, token: number, amount: bigint): Promise<{ trader: Trader; record: QueueRecord }> {
  const priv = generatePrivateKey();
  const u: Trader = { priv, key: publicKeyOf(priv), l1: await connectL1({ rpcUrl, privateKey: ANVIL_DEV_PRIVATE_KEYS[i], chainId }), id: -1 };
  if (token !== 0) {
    const address = dep.tokens[token - 1].address;
    await mined(u.l1, await u.l1.walletClient.writeContract({ address, abi: testTokenAbi, functionName: "mint", args: [u.l1.account.address, amount] }));
    await mined(u.l1, await u.l1.walletClient.writeContract({ address, abi: testTokenAbi, functionName: "approve", args: [dep.rollup, amount] }));
  }
  u.id = Number(await u.l1.publicClient.readContract({ address: dep.rollup, abi: rollupAbi, functionName: "nextAccountId" }));
  await mined(u.l1, await u.l1.walletClient.writeContract({ address: dep.rollup, abi: rollupAbi, functionName: "register", args: [u.key.ax, u.key.ay, token, amount], value: token === 0 ? amount : 0n }));
  return { trader: u, record: { kind: 2, accountId: u.id, token, amount, ax: u.key.ax, ay: u.key.ay } };
}

/** Signs orders with increasing order ids per account. */
export class OrderSigner {
  private readonly next = new Map<number, bigint>();
  constructor(private readonly domain: Domain) {}

  order(u: Trader, market: { base: number; quote: number }, side: "buy" | "sell", amount: bigint, quoteAmount: bigint, o: Partial<Order> = {}): Order {
    const orderId = o.orderId ?? this.next.get(u.id) ?? 1n;
    this.next.set(u.id, orderId + 1n);
    const body = { account: u.id, orderId, base: market.base, quote: market.quote, side, amount, quoteAmount, maxFeeBips: 30, validUntil: Number(MAX_U32), ...o };
    return { ...body, signature: signMessage(u.priv, orderMessage({ ...body, signature: { r8x: 0n, r8y: 0n, s: 0n } }, this.domain)) };
  }
}

/** GET /v1/txs adds lifecycle fields to the signed body; the parser wants the body alone. */
function stripInfo(o: Record<string, unknown>): Record<string, unknown> {
  const { hash: _h, status: _s, reason: _r, batch: _b, slot: _l, timestamps: _t, ...body } = o;
  return body;
}

/** Replays the sequencer's batches with core from the queue and the operations the API shows. */
export class BatchModel {
  readonly state: State;
  readonly queue: QueueRecord[] = [];
  private consumed = 0;
  private queueHash = 0n;
  client: ModexApiClient;

  constructor(private readonly params: Params, client: ModexApiClient, private readonly domain: Domain) {
    this.state = new State(params);
    this.client = client;
  }

  async check(b: BatchInfo): Promise<void> {
    const deposits = this.queue.slice(this.consumed, this.consumed + b.depositCount);
    expect(deposits).toHaveLength(b.depositCount);
    const txs: L2Tx[] = [];
    const fills: FillOp[] = [];
    for (const h of b.txs) {
      const body = (await this.client.tx(h)) as unknown as WireOp;
      if (body.type === "fill") fills.push(parseStoredFill(body, this.params));
      else txs.push(parseTx(stripInfo(body as unknown as Record<string, unknown>), this.params));
    }
    expect(fieldToHex(this.state.root)).toBe(b.oldRoot);
    const shape = b.shape ? parseShapeKey(b.shape) : undefined;
    const r = buildBatch(this.state, { chainId: this.domain.chainId, rollup: this.domain.rollup, timestamp: b.timestamp, queueHashBefore: this.queueHash, deposits, txs, fills, feeTokens: b.feeTokens, shape });
    expect(fieldToHex(r.newRoot)).toBe(b.newRoot);
    expect(fieldToHex(r.publicInput)).toBe(b.publicInput);
    this.consumed += b.depositCount;
    this.queueHash = deposits.reduce((h, d) => queueHashNext(h, d), this.queueHash);
  }
}
