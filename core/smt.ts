/**
 * Sparse Merkle tree of fixed arity and depth, internal node = Poseidon_arity(children).
 * Only non-empty nodes are stored; empty subtrees use precomputed zero hashes.
 * Mutations can be journaled so a caller can roll a whole batch back.
 *
 * A write can also defer its path (`set(i, v, journal, true)`): the leaf changes at once and the
 * internal nodes above it are rehashed on the next read that needs them (root, proof, an eager set,
 * flush), each node once however many of its leaves changed. A replay that only needs the root after
 * a whole batch so hashes every touched node once per batch instead of once per write.
 */
import { poseidon } from "./poseidon";

export type Undo = () => void;

/** Zero hashes Z[0] = emptyLeaf, Z[l+1] = H(Z[l] × arity); cached per (arity, levels, emptyLeaf). */
const zeroCache = new Map<string, bigint[]>();
export function zeroHashes(arity: number, levels: number, emptyLeaf: bigint): bigint[] {
  const key = `${arity}:${levels}:${emptyLeaf}`;
  let z = zeroCache.get(key);
  if (!z) {
    z = [emptyLeaf];
    for (let l = 0; l < levels; l++) z.push(poseidon(new Array<bigint>(arity).fill(z[l])));
    zeroCache.set(key, z);
  }
  return z;
}

export interface MerkleProof {
  readonly index: number;
  readonly leaf: bigint;
  /** siblings[l] are the arity-1 other children at level l, in position order, skipping the path's own. */
  readonly siblings: bigint[][];
}

export class SparseMerkleTree {
  readonly arity: number;
  readonly levels: number;
  readonly emptyLeaf: bigint;
  private readonly zeros: bigint[];
  /** nodes[0] are leaves, nodes[levels] holds the root at index 0. */
  private readonly nodes: Map<number, bigint>[];
  /** Leaves written with a deferred path, and the journal those writes used (their rehash goes there too). */
  private pending: Set<number> | null = null;
  private pendingJournal: Undo[] | undefined = undefined;

  constructor(arity: number, levels: number, emptyLeaf = 0n) {
    if (![2, 4, 8, 16].includes(arity)) throw new Error(`unsupported arity ${arity}`);
    this.arity = arity;
    this.levels = levels;
    this.emptyLeaf = emptyLeaf;
    this.zeros = zeroHashes(arity, levels, emptyLeaf);
    this.nodes = Array.from({ length: levels + 1 }, () => new Map<number, bigint>());
  }

  get capacity(): number {
    return this.arity ** this.levels;
  }

  get root(): bigint {
    this.flush();
    return this.node(this.levels, 0);
  }

  static emptyRoot(arity: number, levels: number, emptyLeaf = 0n): bigint {
    return zeroHashes(arity, levels, emptyLeaf)[levels];
  }

  leaf(index: number): bigint {
    this.checkIndex(index);
    return this.node(0, index);
  }

  /** Indices of non-empty leaves, ascending. */
  indices(): number[] {
    return [...this.nodes[0].keys()].sort((a, b) => a - b);
  }

  proof(index: number): MerkleProof {
    this.checkIndex(index);
    this.flush();
    const siblings: bigint[][] = [];
    let i = index;
    for (let l = 0; l < this.levels; l++) {
      const pos = i % this.arity;
      const base = i - pos;
      const sib: bigint[] = [];
      for (let c = 0; c < this.arity; c++) if (c !== pos) sib.push(this.node(l, base + c));
      siblings.push(sib);
      i = Math.floor(i / this.arity);
    }
    return { index, leaf: this.node(0, index), siblings };
  }

  /**
   * Sets a leaf and updates its path. If `journal` is given, pushes an undo for every change.
   * `defer`: update the path later (see the class comment); the result of every read is the same.
   */
  set(index: number, value: bigint, journal?: Undo[], defer = false): void {
    this.checkIndex(index);
    if (defer) {
      if (this.pending && this.pendingJournal !== journal) this.flush();
      if (this.node(0, index) === value) return;
      this.write(0, index, value, journal);
      (this.pending ??= new Set()).add(index);
      this.pendingJournal = journal;
      return;
    }
    this.flush();
    let i = index;
    this.write(0, i, value, journal);
    for (let l = 0; l < this.levels; l++) {
      const base = i - (i % this.arity);
      const children: bigint[] = [];
      for (let c = 0; c < this.arity; c++) children.push(this.node(l, base + c));
      i = Math.floor(i / this.arity);
      this.write(l + 1, i, poseidon(children), journal);
    }
  }

  /** Rehashes the paths of deferred writes, bottom-up, each internal node once. */
  flush(): void {
    const leaves = this.pending;
    if (!leaves) return;
    const journal = this.pendingJournal;
    this.pending = null;
    this.pendingJournal = undefined;
    let dirty: Iterable<number> = leaves;
    for (let l = 0; l < this.levels; l++) {
      const parents = new Set<number>();
      for (const i of dirty) parents.add(Math.floor(i / this.arity));
      for (const p of parents) {
        const base = p * this.arity;
        const children: bigint[] = [];
        for (let c = 0; c < this.arity; c++) children.push(this.node(l, base + c));
        this.write(l + 1, p, poseidon(children), journal);
      }
      dirty = parents;
    }
  }

  /**
   * Forgets deferred writes' pending paths without hashing them: only for a caller that has just
   * undone those writes (and every node write since the tree was last flushed) through the journal.
   */
  discardPending(): void {
    this.pending = null;
    this.pendingJournal = undefined;
  }

  private node(level: number, index: number): bigint {
    return this.nodes[level].get(index) ?? this.zeros[level];
  }

  private write(level: number, index: number, value: bigint, journal?: Undo[]): void {
    const map = this.nodes[level];
    if (journal) {
      const had = map.has(index);
      const old = map.get(index);
      journal.push(() => {
        if (had) map.set(index, old as bigint);
        else map.delete(index);
      });
    }
    if (value === this.zeros[level]) map.delete(index);
    else map.set(index, value);
  }

  private checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.capacity) {
      throw new RangeError(`leaf index ${index} outside tree of ${this.capacity}`);
    }
  }
}

/** Recomputes a root from a leaf and its proof (for clients and tests). */
export function rootFromProof(arity: number, proof: MerkleProof): bigint {
  let cur = proof.leaf;
  let i = proof.index;
  for (const sib of proof.siblings) {
    const pos = i % arity;
    const children = [...sib.slice(0, pos), cur, ...sib.slice(pos)];
    cur = poseidon(children);
    i = Math.floor(i / arity);
  }
  return cur;
}
