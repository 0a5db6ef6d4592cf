/**
 * The rollup state: the account tree and each account's balance and order-fill trees.
 * Every mutation returns the Merkle witness the circuit needs and can be journaled,
 * so a batch either applies whole or not at all.
 */
import { ACCOUNT_ARITY, BALANCE_ARITY, ORDER_ARITY, type Params, validateParams } from "./params";
import { SparseMerkleTree, type Undo } from "./smt";
import { accountLeaf, emptyAccountLeaf } from "./account";

interface AccountData {
  ax: bigint;
  ay: bigint;
  nonce: bigint;
  readonly balances: SparseMerkleTree;
  readonly orders: SparseMerkleTree;
}

export interface AccountView {
  readonly id: number;
  readonly ax: bigint;
  readonly ay: bigint;
  readonly nonce: bigint;
  readonly registered: boolean;
  /** Non-zero balances by token id. */
  readonly balances: ReadonlyMap<number, bigint>;
}

/** The old values of one account update with one balance leaf, as the circuit reads them. */
export interface AccountWitness {
  readonly accountId: number;
  readonly token: number;
  readonly ax: bigint;
  readonly ay: bigint;
  readonly nonce: bigint;
  readonly balanceRoot: bigint;
  readonly orderRoot: bigint;
  readonly balance: bigint;
  readonly balanceSiblings: bigint[][];
  readonly accountSiblings: bigint[][];
}

/** An account update with several balance leaves changed in sequence (fee credits). */
export interface MultiBalanceWitness {
  readonly accountId: number;
  readonly ax: bigint;
  readonly ay: bigint;
  readonly nonce: bigint;
  readonly balanceRoot: bigint;
  readonly orderRoot: bigint;
  readonly balances: bigint[];
  readonly balanceSiblings: bigint[][][];
  readonly accountSiblings: bigint[][];
}

export interface AccountChange {
  ax: bigint;
  ay: bigint;
  nonce: bigint;
  balance: bigint;
}

export class State {
  readonly params: Params;
  private readonly accountTree: SparseMerkleTree;
  private readonly accounts = new Map<number, AccountData>();
  private journal: Undo[] | null = null;

  constructor(params: Params) {
    validateParams(params);
    this.params = params;
    this.accountTree = new SparseMerkleTree(ACCOUNT_ARITY, params.accountLevels, emptyAccountLeaf(params));
  }

  get root(): bigint {
    return this.accountTree.root;
  }

  get accountCapacity(): number {
    return this.accountTree.capacity;
  }

  /** Ids of accounts that hold anything, ascending. */
  accountIds(): number[] {
    return [...this.accounts.keys()].sort((a, b) => a - b);
  }

  account(id: number): AccountView {
    this.checkAccountId(id);
    const a = this.accounts.get(id);
    const balances = new Map<number, bigint>();
    if (a) for (const t of a.balances.indices()) balances.set(t, a.balances.leaf(t));
    return {
      id,
      ax: a?.ax ?? 0n,
      ay: a?.ay ?? 0n,
      nonce: a?.nonce ?? 0n,
      registered: a !== undefined && !(a.ax === 0n && a.ay === 0n),
      balances,
    };
  }

  balance(id: number, token: number): bigint {
    this.checkAccountId(id);
    this.checkToken(token);
    return this.accounts.get(id)?.balances.leaf(token) ?? 0n;
  }

  /** Starts recording undo steps; `rollback` restores the state as of this call. */
  begin(): void {
    if (this.journal) throw new Error("state: nested transaction");
    this.journal = [];
  }

  commit(): void {
    this.journal = null;
  }

  rollback(): void {
    const j = this.journal;
    this.journal = null;
    if (j) for (let i = j.length - 1; i >= 0; i--) j[i]();
  }

  /** Applies `change` to one account and one balance leaf; returns the witness of the old values. */
  updateAccount(id: number, token: number, change: (old: AccountChange) => AccountChange): AccountWitness {
    this.checkAccountId(id);
    this.checkToken(token);
    const a = this.accountData(id);
    const balanceProof = a.balances.proof(token);
    const accountProof = this.accountTree.proof(id);
    const old: AccountChange = { ax: a.ax, ay: a.ay, nonce: a.nonce, balance: balanceProof.leaf };
    const witness: AccountWitness = {
      accountId: id,
      token,
      ax: a.ax,
      ay: a.ay,
      nonce: a.nonce,
      balanceRoot: a.balances.root,
      orderRoot: a.orders.root,
      balance: balanceProof.leaf,
      balanceSiblings: balanceProof.siblings,
      accountSiblings: accountProof.siblings,
    };
    const next = change({ ...old });
    this.setFields(id, a, next.ax, next.ay, next.nonce);
    a.balances.set(token, next.balance, this.journal ?? undefined);
    this.writeLeaf(id, a);
    return witness;
  }

  /** Adds `credits[i].amount` of `credits[i].token` to one account, in order. */
  creditBalances(id: number, credits: readonly { token: number; amount: bigint }[]): MultiBalanceWitness {
    this.checkAccountId(id);
    const a = this.accountData(id);
    const accountProof = this.accountTree.proof(id);
    const head = { ax: a.ax, ay: a.ay, nonce: a.nonce, balanceRoot: a.balances.root, orderRoot: a.orders.root };
    const balances: bigint[] = [];
    const balanceSiblings: bigint[][][] = [];
    for (const c of credits) {
      this.checkToken(c.token);
      const p = a.balances.proof(c.token);
      balances.push(p.leaf);
      balanceSiblings.push(p.siblings);
      a.balances.set(c.token, p.leaf + c.amount, this.journal ?? undefined);
    }
    this.writeLeaf(id, a);
    return { accountId: id, ...head, balances, balanceSiblings, accountSiblings: accountProof.siblings };
  }

  private accountData(id: number): AccountData {
    let a = this.accounts.get(id);
    if (!a) {
      a = {
        ax: 0n,
        ay: 0n,
        nonce: 0n,
        balances: new SparseMerkleTree(BALANCE_ARITY, this.params.balanceLevels),
        orders: new SparseMerkleTree(ORDER_ARITY, this.params.orderLevels),
      };
      this.accounts.set(id, a);
      if (this.journal) this.journal.push(() => this.accounts.delete(id));
    }
    return a;
  }

  private setFields(id: number, a: AccountData, ax: bigint, ay: bigint, nonce: bigint): void {
    if (this.journal) {
      const [oax, oay, on] = [a.ax, a.ay, a.nonce];
      this.journal.push(() => {
        a.ax = oax;
        a.ay = oay;
        a.nonce = on;
      });
    }
    a.ax = ax;
    a.ay = ay;
    a.nonce = nonce;
  }

  private writeLeaf(id: number, a: AccountData): void {
    const leaf = accountLeaf({ ax: a.ax, ay: a.ay, nonce: a.nonce, balanceRoot: a.balances.root, orderRoot: a.orders.root });
    this.accountTree.set(id, leaf, this.journal ?? undefined);
  }

  private checkAccountId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.accountTree.capacity) {
      throw new RangeError(`account id ${id} outside 0..${this.accountTree.capacity - 1}`);
    }
  }

  private checkToken(token: number): void {
    const cap = BALANCE_ARITY ** this.params.balanceLevels;
    if (!Number.isInteger(token) || token < 0 || token >= Math.min(cap, 256)) {
      throw new RangeError(`token id ${token} outside 0..${Math.min(cap, 256) - 1}`);
    }
  }
}
