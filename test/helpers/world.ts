/** A small in-memory world for tests: keys, a core State, and signed operations. */
import {
  State, type Params, generatePrivateKey, publicKeyOf, signMessage, txMessage, buildBatch,
  QUEUE_REGISTER, QUEUE_DEPOSIT, QUEUE_FORCED_EXIT, type QueueRecord, type TransferTx, type WithdrawTx, type BatchResult, type L2Tx,
  orderMessage, type Order, type OrderSide, type FillOp,
} from "../../core";

export interface OrderOptions {
  orderId?: bigint;
  maxFeeBips?: number;
  validUntil?: number;
  /** Sign with another account's key (a forged order). */
  signer?: number;
}

export const CHAIN_ID = 31337;
/** The deployment core-only tests sign for (no contract needs to exist at this address). */
export const ROLLUP = "0x5FbDB2315678afecb367f032d93F642f64180aa3" as const;
export const DOMAIN = { chainId: CHAIN_ID, rollup: ROLLUP } as const;
export const T0 = 1_700_000_000;

export class World {
  readonly state: State;
  readonly keys: string[] = [];
  queueHash = 0n;
  timestamp = T0;

  constructor(readonly params: Params) {
    this.state = new State(params);
  }

  /** Registers accounts 0..n-1 (account 0 is the operator) through real batches. */
  registerAccounts(n: number, token = 1, amount = 0n): void {
    for (let i = 0; i < n; i++) {
      const key = generatePrivateKey();
      this.keys.push(key);
      this.batch([{ kind: QUEUE_REGISTER, accountId: i, token, amount, ...publicKeyOf(key) }], []);
    }
  }

  deposit(accountId: number, token: number, amount: bigint): QueueRecord {
    return { kind: QUEUE_DEPOSIT, accountId, token, amount, ax: 0n, ay: 0n };
  }

  /** A forced exit (queue kind 3): the account's whole balance of `token` leaves L2. */
  forcedExit(accountId: number, token: number): QueueRecord {
    return { kind: QUEUE_FORCED_EXIT, accountId, token, amount: 0n, ax: 0n, ay: 0n };
  }

  transfer(from: number, to: number, token: number, amount: bigint, fee = 0n, o: { nonce?: bigint; validUntil?: number; signer?: number } = {}): TransferTx {
    const body = { type: "transfer" as const, from, to, token, amount, fee, nonce: o.nonce ?? this.state.account(from).nonce, validUntil: o.validUntil ?? this.timestamp + 3600 };
    const sig = signMessage(this.keys[o.signer ?? from], txMessage({ ...body, signature: { r8x: 0n, r8y: 0n, s: 0n } }, DOMAIN));
    return { ...body, signature: sig };
  }

  withdraw(account: number, token: number, amount: bigint, fee = 0n, o: { nonce?: bigint; validUntil?: number } = {}): WithdrawTx {
    const body = { type: "withdraw" as const, account, token, amount, fee, nonce: o.nonce ?? this.state.account(account).nonce, validUntil: o.validUntil ?? this.timestamp + 3600 };
    const sig = signMessage(this.keys[account], txMessage({ ...body, signature: { r8x: 0n, r8y: 0n, s: 0n } }, DOMAIN));
    return { ...body, signature: sig };
  }

  /** A signed limit order for `amount` base at a limit of `quoteAmount` quote for the whole amount. */
  order(account: number, side: OrderSide, base: number, quote: number, amount: bigint, quoteAmount: bigint, o: OrderOptions = {}): Order {
    const body = {
      account, side, base, quote, amount, quoteAmount,
      orderId: o.orderId ?? 0n,
      maxFeeBips: o.maxFeeBips ?? 30,
      validUntil: o.validUntil ?? this.timestamp + 3600,
    };
    const signature = signMessage(this.keys[o.signer ?? account], orderMessage({ ...body, signature: { r8x: 0n, r8y: 0n, s: 0n } }, DOMAIN));
    return { ...body, signature };
  }

  fill(sell: Order, buy: Order, baseAmount: bigint, quoteAmount: bigint, sellFee = 0n, buyFee = 0n): FillOp {
    return { type: "fill", sell, buy, baseAmount, quoteAmount, sellFee, buyFee };
  }

  batch(deposits: QueueRecord[], txs: L2Tx[], feeTokens?: number[], fills: FillOp[] = []): BatchResult {
    const b = buildBatch(this.state, { chainId: CHAIN_ID, rollup: ROLLUP, timestamp: this.timestamp, queueHashBefore: this.queueHash, deposits, txs, fills, feeTokens });
    this.queueHash = b.queueHashAfter;
    return b;
  }
}
