/**
 * Valid batches for the mutation fuzzer, built by core from random traffic: L1 records (registrations,
 * deposits, forced exits) of which each batch consumes 0..D while more may wait in the queue, signed
 * transfers and withdrawals with fees, and fills of signed orders (partial fills continue a counter).
 *
 * Beside core's state it keeps what the contract knows (the whole queue and its hashes, the records
 * consumed, the last timestamp, the accounts registered on L1) and a shadow state one batch behind:
 * the state a mutant of the newest batch applies to. The shadow advances by core's replay of each
 * batch's public data, so every batch is also a replay-vs-builder check.
 */
import {
  State, ProtocolError, QUEUE_REGISTER, QUEUE_DEPOSIT, QUEUE_FORCED_EXIT, FLOAT40, FLOAT16, buildBatch, decodePubdata,
  floorToFloat, generatePrivateKey, publicKeyOf, queueHashNext, replayBatch, signMessage, txMessage, orderMessage,
  maxAccounts, maxTokens, type BatchResult, type FillOp, type L2Tx, type Order, type OrderSide, type Params, type QueueRecord,
} from "../../core";
import { Rng } from "../helpers/rng";

export { Rng };

export const FUZZ_CHAIN_ID = 31337;
/** The deployment the fuzzer's batches and signatures are for. */
export const FUZZ_ROLLUP = "0x5FbDB2315678afecb367f032d93F642f64180aa3" as const;
const DOMAIN = { chainId: FUZZ_CHAIN_ID, rollup: FUZZ_ROLLUP } as const;

/** A base batch and what a mutant of it is judged against. */
export interface BaseBatch {
  readonly batch: BatchResult;
  /** The contract's queue when the batch is submitted (records enqueued so far) and its hashes (queueHashes[k] after k records). */
  readonly queue: readonly QueueRecord[];
  readonly queueHashes: readonly bigint[];
  /** Records consumed before the batch. */
  readonly consumed: number;
  /** The previous batch's timestamp. */
  readonly lastTimestamp: number;
  /** Accounts registered on L1 (the contract's nextAccountId). */
  readonly nextAccountId: number;
}

interface OpenOrder {
  readonly order: Order;
  filled: bigint;
}

export class FuzzScenario {
  readonly state: State;
  /** One batch behind `state` until `advance()`. */
  readonly shadow: State;
  readonly keys: string[] = [];
  readonly queue: QueueRecord[] = [];
  readonly queueHashes: bigint[] = [0n];
  consumed = 0;
  timestamp = 1_700_000_000;
  lastTimestamp = 0;
  private nextOrderId = new Map<number, bigint>();
  private open: OpenOrder[] = [];
  private pendingBase: BaseBatch | null = null;

  constructor(readonly params: Params, private readonly rng: Rng) {
    this.state = new State(params);
    this.shadow = new State(params);
  }

  get nextAccountId(): number {
    return this.keys.length;
  }

  /** Registers `n` accounts with balances in every token, through batches the shadow replays too. */
  setup(n: number): void {
    const tokens = Math.min(maxTokens(this.params), 4);
    for (let i = 0; i < n; i++) this.register(1, 10n ** 12n);
    for (let t = 0; t < tokens; t++) for (let a = 1; a < n; a++) if (t !== 1) this.enqueue({ kind: QUEUE_DEPOSIT, accountId: a, token: t, amount: 10n ** 12n, ax: 0n, ay: 0n });
    while (this.consumed < this.queue.length) {
      this.build(Math.min(this.params.depositSlots, this.queue.length - this.consumed), [], []);
      this.advance();
    }
  }

  /** A new random valid batch (the shadow stays at its pre-state until advance()). */
  next(): BaseBatch {
    const r = this.rng;
    const p = this.params;
    // New L1 records: deposits, forced exits, now and then a registration.
    for (let i = r.int(3); i > 0; i--) {
      const roll = r.next();
      const account = 1 + r.int(this.nextAccountId - 1);
      const token = r.int(Math.min(maxTokens(p), 4));
      if (roll < 0.45) this.enqueue({ kind: QUEUE_FORCED_EXIT, accountId: account, token, amount: 0n, ax: 0n, ay: 0n });
      else if (roll < 0.9 || this.nextAccountId >= maxAccounts(p)) this.enqueue({ kind: QUEUE_DEPOSIT, accountId: account, token, amount: r.amount(6), ax: 0n, ay: 0n });
      else this.register(r.int(Math.min(maxTokens(p), 4)), r.amount(6));
    }
    const pending = this.queue.length - this.consumed;
    const take = Math.min(pending, r.chance(0.7) ? p.depositSlots : r.int(p.depositSlots + 1));
    this.timestamp += r.int(100);

    const txs: L2Tx[] = [];
    const sent = new Map<number, bigint>();
    for (let i = r.int(p.l2Slots + 1); i > 0; i--) txs.push(this.randomTx(sent));
    const fills: FillOp[] = [];
    for (let i = r.int(p.fillSlots + 1); i > 0; i--) {
      const f = this.randomFill();
      if (f) fills.push(f);
    }
    return this.build(take, txs, fills);
  }

  /** A batch that consumes exactly `records` (enqueued now, with nothing else pending) and nothing else. */
  batchOf(records: readonly QueueRecord[]): BaseBatch {
    if (this.consumed !== this.queue.length) throw new Error("records are pending");
    for (const r of records) this.enqueue(r);
    return this.build(records.length, [], []);
  }

  /** The first random batch that satisfies `wanted` (earlier ones are applied). */
  nextWith(wanted: (b: BaseBatch) => boolean, tries = 100): BaseBatch {
    for (let i = 0; i < tries; i++) {
      const b = this.next();
      if (wanted(b)) return b;
      this.advance();
    }
    throw new Error(`no batch as wanted in ${tries} tries`);
  }

  /** Moves the shadow to the newest batch by replaying its public data (must match the builder). */
  advance(): void {
    const b = this.pendingBase;
    if (!b) return;
    const records = this.queue.slice(b.consumed, b.consumed + b.batch.depositCount);
    const res = replayBatch(this.shadow, { pubdata: decodePubdata(this.params, b.batch.pubdata), records });
    if (res.newRoot !== b.batch.newRoot || Buffer.compare(Buffer.from(res.pubdata), Buffer.from(b.batch.pubdata)) !== 0) {
      throw new Error("core's replay of a batch core built differs from it");
    }
    this.pendingBase = null;
  }

  private build(take: number, txs: L2Tx[], fills: FillOp[]): BaseBatch {
    const p = this.params;
    const deposits = this.queue.slice(this.consumed, this.consumed + take);
    // Drop operations core refuses (a random op may overdraw) until the batch builds.
    for (;;) {
      try {
        const batch = buildBatch(this.state, {
          chainId: FUZZ_CHAIN_ID, rollup: FUZZ_ROLLUP, timestamp: this.timestamp, queueHashBefore: this.queueHashes[this.consumed], deposits, txs, fills,
        });
        const base: BaseBatch = {
          batch, queue: [...this.queue], queueHashes: [...this.queueHashes], consumed: this.consumed, lastTimestamp: this.lastTimestamp,
          nextAccountId: this.nextAccountId,
        };
        this.consumed += take;
        this.lastTimestamp = this.timestamp;
        for (const f of fills) {
          for (const o of this.open) if (o.order === f.sell || o.order === f.buy) o.filled += f.baseAmount;
        }
        this.open = this.open.filter((o) => o.filled < o.order.amount);
        this.pendingBase = base;
        return base;
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
        const m = /^(operation|fill) (\d+):/.exec(e.message);
        if (!m && e.code === "fee_token_not_in_batch") {
          if (fills.length > 0) fills.pop();
          else txs.pop();
          continue;
        }
        if (!m) throw e;
        if (m[1] === "operation") txs.splice(Number(m[2]), 1);
        else fills.splice(Number(m[2]), 1);
        if (txs.length > p.l2Slots) throw e;
      }
    }
  }

  private enqueue(rec: QueueRecord): void {
    this.queue.push(rec);
    this.queueHashes.push(queueHashNext(this.queueHashes[this.queueHashes.length - 1], rec));
  }

  private register(token: number, amount: bigint): void {
    const key = generatePrivateKey();
    const id = this.keys.length;
    this.keys.push(key);
    this.enqueue({ kind: QUEUE_REGISTER, accountId: id, token, amount, ...publicKeyOf(key) });
  }

  /** A transfer or withdrawal; `sent` counts this batch's earlier txs per account (their nonces). */
  private randomTx(sent: Map<number, bigint>): L2Tx {
    const r = this.rng;
    const from = 1 + r.int(this.nextAccountId - 1);
    const token = r.int(Math.min(maxTokens(this.params), 4));
    const nonce = this.state.account(from).nonce + (sent.get(from) ?? 0n);
    sent.set(from, (sent.get(from) ?? 0n) + 1n);
    const amount = floorToFloat(FLOAT40, r.amount(5));
    const fee = r.chance(0.6) ? floorToFloat(FLOAT16, r.amount(3)) : 0n;
    const validUntil = this.timestamp + 3600;
    const sig = { r8x: 0n, r8y: 0n, s: 0n };
    if (r.chance(0.7)) {
      let to = 1 + r.int(this.nextAccountId - 1);
      if (to === from) to = (to % (this.nextAccountId - 1)) + 1;
      const body = { type: "transfer" as const, from, to, token, amount, fee, nonce, validUntil };
      return { ...body, signature: signMessage(this.keys[from], txMessage({ ...body, signature: sig }, DOMAIN)) };
    }
    const body = { type: "withdraw" as const, account: from, token, amount, fee, nonce, validUntil };
    return { ...body, signature: signMessage(this.keys[from], txMessage({ ...body, signature: sig }, DOMAIN)) };
  }

  private order(account: number, side: OrderSide, base: number, quote: number, amount: bigint, quoteAmount: bigint): Order {
    const orderId = this.nextOrderId.get(account) ?? 1n;
    this.nextOrderId.set(account, orderId + 1n);
    const body = { account, side, base, quote, amount, quoteAmount, orderId, maxFeeBips: 10 + this.rng.int(90), validUntil: this.timestamp + 3600 };
    return { ...body, signature: signMessage(this.keys[account], orderMessage({ ...body, signature: { r8x: 0n, r8y: 0n, s: 0n } }, DOMAIN)) };
  }

  /** A fill at one price: continues an open order now and then (its counter), else two new orders. */
  private randomFill(): FillOp | null {
    const r = this.rng;
    const n = this.nextAccountId;
    const tokens = Math.min(maxTokens(this.params), 4);
    let sell: OpenOrder | undefined;
    let buy: OpenOrder | undefined;
    const reuse = this.open.length > 0 && r.chance(0.4) ? r.pick(this.open) : undefined;
    if (reuse) {
      const o = reuse.order;
      const counterSide: OrderSide = o.side === "sell" ? "buy" : "sell";
      let other = 1 + r.int(n - 1);
      if (other === o.account) other = (other % (n - 1)) + 1;
      const counter = { order: this.order(other, counterSide, o.base, o.quote, o.amount, o.quoteAmount), filled: 0n };
      this.open.push(counter);
      [sell, buy] = o.side === "sell" ? [reuse, counter] : [counter, reuse];
    } else {
      const seller = 1 + r.int(n - 1);
      let buyer = 1 + r.int(n - 1);
      if (buyer === seller) buyer = (buyer % (n - 1)) + 1;
      const base = r.int(tokens);
      const quote = (base + 1 + r.int(tokens - 1)) % tokens;
      const amount = floorToFloat(FLOAT40, r.amount(5));
      const quoteAmount = floorToFloat(FLOAT40, r.amount(6));
      sell = { order: this.order(seller, "sell", base, quote, amount, quoteAmount), filled: 0n };
      buy = { order: this.order(buyer, "buy", base, quote, amount, quoteAmount), filled: 0n };
      this.open.push(sell, buy);
    }
    const left = [sell, buy].map((o) => o.order.amount - o.filled).reduce((a, b) => (a < b ? a : b));
    if (left <= 0n) return null;
    const baseAmount = r.chance(0.5) ? left : 1n + BigInt(r.int(Number(left < 1_000_000n ? left : 1_000_000n)));
    const quoteAmount = (baseAmount * sell.order.quoteAmount) / sell.order.amount;
    const fee = (received: bigint, bips: number): bigint => (r.chance(0.7) ? floorToFloat(FLOAT16, (received * BigInt(bips)) / 10_000n) : 0n);
    return {
      type: "fill", sell: sell.order, buy: buy.order, baseAmount, quoteAmount,
      sellFee: fee(quoteAmount, sell.order.maxFeeBips), buyFee: fee(baseAmount, buy.order.maxFeeBips),
    };
  }
}
