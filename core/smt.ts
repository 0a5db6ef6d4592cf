/**
 * Sparse Merkle tree of fixed arity and depth, internal node = Poseidon_arity(children).
 * Only non-empty nodes are stored; empty subtrees use precomputed zero hashes.
 * Mutations can be journaled so a caller can roll a whole batch back.
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

  /** Sets a leaf and updates its path. If `journal` is given, pushes an undo for every change. */
  set(index: number, value: bigint, journal?: Undo[]): void {
    this.checkIndex(index);
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
