/**
 * A plain in-memory Ledger: balances and order-fill slots in maps, fills applied as the protocol
 * does (core/ops/fill.ts), fees credited to a fee account. For tests, benchmarks and as the reference
 * of what the engine expects from a ledger. It refuses a fill that would overdraw a balance or break
 * a slot, so a test using it catches an engine that over-commits.
 */
import type { FillOp } from "../../core/ops/types";
import type { Ledger, OrderSlotState } from "./types";

const EMPTY_SLOT: OrderSlotState = { orderId: 0n, filled: 0n };

export class MemoryLedger implements Ledger {
  private readonly balances = new Map<number, Map<number, bigint>>();
  private readonly slots = new Map<number, Map<number, OrderSlotState>>();
  readonly fills: FillOp[] = [];

  constructor(
    private readonly orderSlots: number,
    private readonly feeAccount = 0,
  ) {}

  balance(account: number, token: number): bigint {
    return this.balances.get(account)?.get(token) ?? 0n;
  }

  orderSlot(account: number, slot: number): OrderSlotState {
    return this.slots.get(account)?.get(slot) ?? EMPTY_SLOT;
  }

  /** Adds (or, negative, removes) funds outside trading: deposits, transfers, withdrawals. */
  credit(account: number, token: number, amount: bigint): void {
    const next = this.balance(account, token) + amount;
    if (next < 0n) throw new Error(`account ${account} token ${token}: balance would go negative`);
    let tokens = this.balances.get(account);
    if (!tokens) {
      tokens = new Map();
      this.balances.set(account, tokens);
    }
    tokens.set(token, next);
  }

  setSlot(account: number, slot: number, state: OrderSlotState): void {
    let m = this.slots.get(account);
    if (!m) {
      m = new Map();
      this.slots.set(account, m);
    }
    m.set(slot, state);
  }

  settle(fill: FillOp): void {
    const { sell, buy, baseAmount: b, quoteAmount: q } = fill;
    // Check everything first so a refused fill changes nothing.
    if (this.balance(sell.account, sell.base) < b) throw new Error(`seller ${sell.account} cannot deliver ${b}`);
    if (this.balance(buy.account, buy.quote) < q) throw new Error(`buyer ${buy.account} cannot pay ${q}`);
    const sellSlot = this.advancedSlot(sell, b);
    const buySlot = this.advancedSlot(buy, b);
    this.credit(sell.account, sell.base, -b);
    this.credit(sell.account, sell.quote, q - fill.sellFee);
    this.credit(buy.account, buy.quote, -q);
    this.credit(buy.account, buy.base, b - fill.buyFee);
    this.credit(this.feeAccount, sell.quote, fill.sellFee);
    this.credit(this.feeAccount, buy.base, fill.buyFee);
    this.setSlot(sell.account, this.slotOf(sell.orderId), sellSlot);
    this.setSlot(buy.account, this.slotOf(buy.orderId), buySlot);
    this.fills.push(fill);
  }

  /**
   * Takes a settled fill back, as a cut that voids it does (the sequencer rebuilds its pending view
   * without it): balances and both slots' counters return to what they were without it.
   */
  revert(fill: FillOp): void {
    const i = this.fills.indexOf(fill);
    if (i < 0) throw new Error("revert: this fill was not settled here");
    const { sell, buy, baseAmount: b, quoteAmount: q } = fill;
    this.credit(this.feeAccount, sell.quote, -fill.sellFee);
    this.credit(this.feeAccount, buy.base, -fill.buyFee);
    this.credit(buy.account, buy.base, -(b - fill.buyFee));
    this.credit(buy.account, buy.quote, q);
    this.credit(sell.account, sell.quote, -(q - fill.sellFee));
    this.credit(sell.account, sell.base, b);
    for (const o of [sell, buy]) {
      const slot = this.slotOf(o.orderId);
      const cur = this.orderSlot(o.account, slot);
      if (cur.orderId === o.orderId) this.setSlot(o.account, slot, { orderId: o.orderId, filled: cur.filled - b });
    }
    this.fills.splice(i, 1);
  }

  private slotOf(orderId: bigint): number {
    return Number(orderId % BigInt(this.orderSlots));
  }

  private advancedSlot(order: FillOp["sell"], b: bigint): OrderSlotState {
    const cur = this.orderSlot(order.account, this.slotOf(order.orderId));
    if (cur.orderId > order.orderId) throw new Error(`order ${order.orderId} of account ${order.account}: slot holds a later id`);
    const filled = (cur.orderId === order.orderId ? cur.filled : 0n) + b;
    if (filled > order.amount) throw new Error(`order ${order.orderId} of account ${order.account}: overfilled`);
    return { orderId: order.orderId, filled };
  }
}
