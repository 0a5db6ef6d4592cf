/**
 * The pending view: the batched state plus the effects of accepted, not yet batched operations
 * (transfer/withdraw: sender nonce + 1, sender balance − amount − fee, receiver balance + amount;
 * fill: both traders' balances and order-fill slots). Pure, in memory.
 *
 * What it deliberately leaves out, so that every accepted tx stays valid when its batch is built:
 *  - unbatched L1 queue records (deposits, registrations): a batch applies them before its L2 ops,
 *    and they only ever add, so leaving them out can only make the check stricter;
 *  - fee credits to account 0: a batch credits fees after its last L2 slot, so the fee account
 *    cannot spend fees of the batch its own tx lands in.
 * Batches take pending txs as a prefix in acceptance order, so after a batch is built the view of
 * the remaining txs is again "new batched state + their effects".
 */
import type { State, AccountView } from "../core/state";
import type { SignatureCheck } from "../core/eddsa";
import type { BatchContext, FillOp, L2Tx } from "../core/ops/types";
import { checkTransfer } from "../core/ops/transfer";
import { checkWithdraw } from "../core/ops/withdraw";
import { signerOf } from "../core/ops/signed";
import { checkFill } from "../core/ops/fill";
import { orderSlotIndex, type OrderSlot, type OrderStateReader } from "../core/ops/order";

/** What the sequencer sequences: signed L2 transactions and the fills its engine makes. */
export type Op = L2Tx | FillOp;

/** The part of State that core's rule checks read. */
export type StateReader = OrderStateReader;

export class PendingView implements StateReader {
  private readonly nonces = new Map<number, bigint>();
  /** Balance deltas: account → token → delta. */
  private readonly deltas = new Map<number, Map<number, bigint>>();
  /** Order-fill slots written by pending fills: account → slot → value. */
  private readonly slots = new Map<number, Map<number, OrderSlot>>();

  constructor(private readonly base: State) {}

  get params(): State["params"] {
    return this.base.params;
  }

  get accountCapacity(): number {
    return this.base.accountCapacity;
  }

  account(id: number): AccountView {
    const a = this.base.account(id);
    const live = this.deltas.get(id);
    const deltas = live && live.size > 0 ? [...live] : null;
    // As in State: the balances are computed when first asked for (from the deltas as they are now).
    let balances: Map<number, bigint> | undefined;
    return {
      id: a.id,
      ax: a.ax,
      ay: a.ay,
      nonce: this.nonces.get(id) ?? a.nonce,
      registered: a.registered,
      get balances(): ReadonlyMap<number, bigint> {
        if (!balances) {
          balances = new Map(a.balances);
          for (const [token, d] of deltas ?? []) {
            const v = (balances.get(token) ?? 0n) + d;
            if (v === 0n) balances.delete(token);
            else balances.set(token, v);
          }
        }
        return balances;
      },
    };
  }

  balance(id: number, token: number): bigint {
    return this.base.balance(id, token) + (this.deltas.get(id)?.get(token) ?? 0n);
  }

  orderSlot(id: number, slot: number): OrderSlot {
    return this.slots.get(id)?.get(slot) ?? this.base.orderSlot(id, slot);
  }

  /**
   * Checks `tx` with core's own rules against this view; throws core's ProtocolError.
   * core's checks read only the StateReader members, which this class implements from the
   * batched state, so handing it over as a State runs exactly the rules buildBatch will run.
   */
  check(op: Op, ctx: BatchContext, verify?: SignatureCheck): void {
    const asState = this as unknown as State;
    if (op.type === "transfer") checkTransfer(asState, op, ctx, verify);
    else if (op.type === "withdraw") checkWithdraw(asState, op, ctx, verify);
    else checkFill(this, op, ctx, verify);
  }

  /** Records the effects of an accepted operation (assumed valid: check it first). */
  apply(op: Op): void {
    if (op.type === "fill") return this.applyFill(op);
    const signer = signerOf(op);
    this.nonces.set(signer, (this.nonces.get(signer) ?? this.base.account(signer).nonce) + 1n);
    this.add(signer, op.token, -(op.amount + op.fee));
    if (op.type === "transfer") this.add(op.to, op.token, op.amount);
  }

  private applyFill(f: FillOp): void {
    const { sell, buy } = f;
    this.add(sell.account, sell.base, -f.baseAmount);
    this.add(sell.account, sell.quote, f.quoteAmount - f.sellFee);
    this.add(buy.account, buy.quote, -f.quoteAmount);
    this.add(buy.account, buy.base, f.baseAmount - f.buyFee);
    for (const o of [sell, buy]) {
      const slot = orderSlotIndex(this.base.params, o.orderId);
      const before = this.orderSlot(o.account, slot);
      const filled = (before.orderId === o.orderId ? before.filled : 0n) + f.baseAmount;
      let m = this.slots.get(o.account);
      if (!m) this.slots.set(o.account, (m = new Map()));
      m.set(slot, { orderId: o.orderId, filled });
    }
  }

  /** Accounts with pending effects (for tests and metrics). */
  get touchedAccounts(): number {
    return new Set([...this.nonces.keys(), ...this.deltas.keys(), ...this.slots.keys()]).size;
  }

  private add(id: number, token: number, d: bigint): void {
    let m = this.deltas.get(id);
    if (!m) this.deltas.set(id, (m = new Map()));
    const v = (m.get(token) ?? 0n) + d;
    if (v === 0n) m.delete(token);
    else m.set(token, v);
  }
}
