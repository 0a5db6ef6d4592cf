/**
 * The rollup state: the account tree and each account's balance and order-fill trees.
 * Every mutation returns the Merkle witness the circuit needs and can be journaled,
 * so a batch either applies whole or not at all.
 *
 * A caller that needs no witnesses (a replay, which compares roots per batch) runs its mutations in
 * `withoutWitnesses`: each leaf changes at once, and the hashing above it (balance and order-fill
 * tree paths, account leaves, account tree paths) waits for the next read of a root or proof, so a
 * node touched by several operations of a batch is hashed once. Roots are the same either way.
 */
import { ACCOUNT_ARITY, BALANCE_ARITY, ORDER_ARITY, type Params, validateParams } from "./params";
import { SparseMerkleTree, type Undo } from "./smt";
import { accountLeaf, emptyAccountLeaf } from "./account";
import { slotOfLeaf, type OrderSlot } from "./ops/order";

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
  /** Non-zero balances by token id, read when first accessed: read them before the state moves on. */
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

/**
 * The old values of one trader's side of a fill: two balance leaves (the token it gives, then the
 * token it gets, read after the first changed) and one order-fill slot.
 */
export interface TradeWitness {
  readonly accountId: number;
  readonly ax: bigint;
  readonly ay: bigint;
  readonly nonce: bigint;
  readonly giveBalance: bigint;
  readonly giveSiblings: bigint[][];
  readonly getBalance: bigint;
  readonly getSiblings: bigint[][];
  readonly slotLeaf: bigint;
  readonly slotSiblings: bigint[][];
  readonly accountSiblings: bigint[][];
}

export interface TradeChange {
  readonly giveToken: number;
  readonly give: bigint;
  readonly getToken: number;
  /** Net amount credited (received − fee). */
  readonly get: bigint;
  readonly slot: number;
  readonly newSlotLeaf: bigint;
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
  /** false inside withoutWitnesses. */
  private witnesses = true;
  /** Accounts whose leaf in the account tree is not yet rehashed (written while witnesses were off). */
  private readonly staleLeaves = new Set<number>();

  constructor(params: Params) {
    validateParams(params);
    this.params = params;
    this.accountTree = new SparseMerkleTree(ACCOUNT_ARITY, params.accountLevels, emptyAccountLeaf(params));
  }

  get root(): bigint {
    this.flush();
    return this.accountTree.root;
  }

  /**
   * Runs `f` with witnesses off: the update methods return no Merkle paths (empty sibling lists, 0n
   * roots; leaves, keys and nonces are as usual) and defer their hashing until a root is read.
   */
  withoutWitnesses<T>(f: () => T): T {
    const was = this.witnesses;
    this.witnesses = false;
    try {
      return f();
    } finally {
      this.witnesses = was;
    }
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
    // The balances are read off the tree when first asked for: most readers (a signature or nonce
    // check on every accepted order) never ask.
    let balances: Map<number, bigint> | undefined;
    return {
      id,
      ax: a?.ax ?? 0n,
      ay: a?.ay ?? 0n,
      nonce: a?.nonce ?? 0n,
      registered: a !== undefined && !(a.ax === 0n && a.ay === 0n),
      get balances(): ReadonlyMap<number, bigint> {
        if (!balances) {
          balances = new Map<number, bigint>();
          if (a) for (const t of a.balances.indices()) balances.set(t, a.balances.leaf(t));
        }
        return balances;
      },
    };
  }

  balance(id: number, token: number): bigint {
    this.checkAccountId(id);
    this.checkToken(token);
    return this.accounts.get(id)?.balances.leaf(token) ?? 0n;
  }

  /** The leaf of order-fill slot `slot` of account `id` (0 when empty). */
  orderSlotLeaf(id: number, slot: number): bigint {
    this.checkAccountId(id);
    this.checkSlot(slot);
    return this.accounts.get(id)?.orders.leaf(slot) ?? 0n;
  }

  /** Order-fill slot `slot` of account `id`: the order id it holds and the base amount filled. */
  orderSlot(id: number, slot: number): OrderSlot {
    return slotOfLeaf(this.orderSlotLeaf(id, slot));
  }

  /** Non-empty order-fill slots of an account, by slot index. */
  orderSlots(id: number): Map<number, bigint> {
    this.checkAccountId(id);
    const out = new Map<number, bigint>();
    const a = this.accounts.get(id);
    if (a) for (const i of a.orders.indices()) out.set(i, a.orders.leaf(i));
    return out;
  }

  /**
   * One balance's Merkle proof against the state root, read-only: the account's fields, its balance
   * leaf with the balance-tree path, and the account-tree path (what the contract's exit checks).
   */
  balanceProof(id: number, token: number): AccountWitness {
    this.checkAccountId(id);
    this.checkToken(token);
    this.flush();
    const a = this.accounts.get(id);
    const balances = a?.balances ?? new SparseMerkleTree(BALANCE_ARITY, this.params.balanceLevels);
    const orders = a?.orders ?? new SparseMerkleTree(ORDER_ARITY, this.params.orderLevels);
    const b = balances.proof(token);
    return {
      accountId: id,
      token,
      ax: a?.ax ?? 0n,
      ay: a?.ay ?? 0n,
      nonce: a?.nonce ?? 0n,
      balanceRoot: balances.root,
      orderRoot: orders.root,
      balance: b.leaf,
      balanceSiblings: b.siblings,
      accountSiblings: this.accountTree.proof(id).siblings,
    };
  }

  /** Starts recording undo steps; `rollback` restores the state as of this call. */
  begin(): void {
    if (this.journal) throw new Error("state: nested transaction");
    // Deferred hashing never spans a transaction's start: rollback then returns to a fully hashed state.
    this.flush();
    this.journal = [];
  }

  commit(): void {
    this.flush();
    this.journal = null;
  }

  rollback(): void {
    const j = this.journal;
    this.journal = null;
    if (!j) return;
    // The state at begin() was fully hashed, and the journal undoes every write since (leaves and the
    // nodes hashed in between), so what is still pending is moot.
    for (const id of this.staleLeaves) {
      const a = this.accounts.get(id);
      a?.balances.discardPending();
      a?.orders.discardPending();
    }
    this.staleLeaves.clear();
    this.accountTree.discardPending();
    for (let i = j.length - 1; i >= 0; i--) j[i]();
  }

  /** Applies `change` to one account and one balance leaf; returns the witness of the old values. */
  updateAccount(id: number, token: number, change: (old: AccountChange) => AccountChange): AccountWitness {
    this.checkAccountId(id);
    this.checkToken(token);
    const a = this.accountData(id);
    if (!this.witnesses) {
      const old: AccountChange = { ax: a.ax, ay: a.ay, nonce: a.nonce, balance: a.balances.leaf(token) };
      const next = change({ ...old });
      this.setFields(id, a, next.ax, next.ay, next.nonce);
      a.balances.set(token, next.balance, this.journal ?? undefined, true);
      this.staleLeaves.add(id);
      return { accountId: id, token, ax: old.ax, ay: old.ay, nonce: old.nonce, balanceRoot: 0n, orderRoot: 0n, balance: old.balance, balanceSiblings: [], accountSiblings: [] };
    }
    this.flush();
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

  /** One trader's side of a fill: debit one balance, credit another, write one order slot. */
  updateTrade(id: number, c: TradeChange): TradeWitness {
    this.checkAccountId(id);
    this.checkToken(c.giveToken);
    this.checkToken(c.getToken);
    this.checkSlot(c.slot);
    const a = this.accountData(id);
    const j = this.journal ?? undefined;
    if (!this.witnesses) {
      const giveBalance = a.balances.leaf(c.giveToken);
      a.balances.set(c.giveToken, giveBalance - c.give, j, true);
      const getBalance = a.balances.leaf(c.getToken);
      a.balances.set(c.getToken, getBalance + c.get, j, true);
      const slotLeaf = a.orders.leaf(c.slot);
      a.orders.set(c.slot, c.newSlotLeaf, j, true);
      this.staleLeaves.add(id);
      return { accountId: id, ax: a.ax, ay: a.ay, nonce: a.nonce, giveBalance, giveSiblings: [], getBalance, getSiblings: [], slotLeaf, slotSiblings: [], accountSiblings: [] };
    }
    this.flush();
    const accountProof = this.accountTree.proof(id);
    const give = a.balances.proof(c.giveToken);
    a.balances.set(c.giveToken, give.leaf - c.give, j);
    const get = a.balances.proof(c.getToken);
    a.balances.set(c.getToken, get.leaf + c.get, j);
    const slot = a.orders.proof(c.slot);
    a.orders.set(c.slot, c.newSlotLeaf, j);
    this.writeLeaf(id, a);
    return {
      accountId: id,
      ax: a.ax,
      ay: a.ay,
      nonce: a.nonce,
      giveBalance: give.leaf,
      giveSiblings: give.siblings,
      getBalance: get.leaf,
      getSiblings: get.siblings,
      slotLeaf: slot.leaf,
      slotSiblings: slot.siblings,
      accountSiblings: accountProof.siblings,
    };
  }

  /** Adds `credits[i].amount` of `credits[i].token` to one account, in order. */
  creditBalances(id: number, credits: readonly { token: number; amount: bigint }[]): MultiBalanceWitness {
    this.checkAccountId(id);
    const a = this.accountData(id);
    if (!this.witnesses) {
      const balances: bigint[] = [];
      for (const c of credits) {
        this.checkToken(c.token);
        const old = a.balances.leaf(c.token);
        balances.push(old);
        a.balances.set(c.token, old + c.amount, this.journal ?? undefined, true);
      }
      this.staleLeaves.add(id);
      return { accountId: id, ax: a.ax, ay: a.ay, nonce: a.nonce, balanceRoot: 0n, orderRoot: 0n, balances, balanceSiblings: [], accountSiblings: [] };
    }
    this.flush();
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

  /** Hashes what deferred writes left: stale account leaves (their balance and order roots first), then the account tree's paths. */
  private flush(): void {
    if (this.staleLeaves.size === 0) return;
    const j = this.journal ?? undefined;
    for (const id of this.staleLeaves) {
      const a = this.accounts.get(id);
      if (!a) throw new Error(`state: stale leaf of unknown account ${id}`);
      const leaf = accountLeaf({ ax: a.ax, ay: a.ay, nonce: a.nonce, balanceRoot: a.balances.root, orderRoot: a.orders.root });
      this.accountTree.set(id, leaf, j, true);
    }
    this.staleLeaves.clear();
    this.accountTree.flush();
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

  private checkSlot(slot: number): void {
    const cap = ORDER_ARITY ** this.params.orderLevels;
    if (!Number.isInteger(slot) || slot < 0 || slot >= cap) throw new RangeError(`order slot ${slot} outside 0..${cap - 1}`);
  }

  private checkToken(token: number): void {
    const cap = BALANCE_ARITY ** this.params.balanceLevels;
    if (!Number.isInteger(token) || token < 0 || token >= Math.min(cap, 256)) {
      throw new RangeError(`token id ${token} outside 0..${Math.min(cap, 256) - 1}`);
    }
  }
}
