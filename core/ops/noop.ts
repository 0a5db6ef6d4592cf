/** Noop padding: opens account 0, token 0, twice, and changes nothing. */
import { OP_NOOP } from "../message";
import type { State } from "../state";
import type { L2SlotWitness } from "./types";

export function applyNoop(state: State): L2SlotWitness {
  const a = state.updateAccount(0, 0, (o) => o);
  const b = state.updateAccount(0, 0, (o) => o);
  return {
    opType: OP_NOOP,
    from: 0,
    to: 0,
    token: 0,
    amountF: 0n,
    feeF: 0n,
    validUntil: 0,
    signature: { r8x: 0n, r8y: 0n, s: 0n },
    chunk: new Uint8Array(15),
    fee: 0n,
    a,
    b,
  };
}
