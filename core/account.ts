/** Account leaves (PROTOCOL.md §2.2). */
import { poseidon } from "./poseidon";
import { SparseMerkleTree } from "./smt";
import { BALANCE_ARITY, ORDER_ARITY, type Params } from "./params";

export interface AccountFields {
  readonly ax: bigint;
  readonly ay: bigint;
  readonly nonce: bigint;
  readonly balanceRoot: bigint;
  readonly orderRoot: bigint;
}

export function accountLeaf(a: AccountFields): bigint {
  return poseidon([a.ax, a.ay, a.nonce, a.balanceRoot, a.orderRoot]);
}

export function emptyBalanceRoot(p: Params): bigint {
  return SparseMerkleTree.emptyRoot(BALANCE_ARITY, p.balanceLevels);
}

export function emptyOrderRoot(p: Params): bigint {
  return SparseMerkleTree.emptyRoot(ORDER_ARITY, p.orderLevels);
}

/** The account tree's empty leaf: an unregistered account with nothing in it. */
export function emptyAccountLeaf(p: Params): bigint {
  return accountLeaf({ ax: 0n, ay: 0n, nonce: 0n, balanceRoot: emptyBalanceRoot(p), orderRoot: emptyOrderRoot(p) });
}

export function isRegisteredKey(ax: bigint, ay: bigint): boolean {
  return !(ax === 0n && ay === 0n);
}
