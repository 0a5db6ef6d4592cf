/**
 * Audit snapshots: the state an audit reached (every account's key, nonce, balances and order
 * slots), the batch it covers, its root and the queue position, so a later audit replays only the
 * new batches. JSON, versioned, with the parameters; written atomically (tmp + rename).
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { State, type Params } from "../core";

export const SNAPSHOT_VERSION = 1;

export interface SnapshotAccount {
  readonly id: number;
  readonly ax: string;
  readonly ay: string;
  readonly nonce: string;
  /** token id → balance (decimal). */
  readonly balances: Record<string, string>;
  /** order slot → slot leaf (decimal). */
  readonly orders: Record<string, string>;
}

export interface AuditSnapshot {
  readonly kind: "modex-audit-snapshot";
  readonly version: number;
  readonly params: Params;
  readonly chainId: number;
  readonly rollup: string;
  /** The last batch the state includes (0 = genesis). */
  readonly batch: number;
  /** The state root after `batch` (decimal). */
  readonly root: string;
  /** Queue records consumed by batches 1..batch, and queueHash[consumed] (decimal). */
  readonly queue: { readonly consumed: number; readonly queueHash: string };
  readonly accounts: readonly SnapshotAccount[];
  readonly writtenAt: string;
}

export interface LoadedSnapshot {
  readonly state: State;
  readonly batch: number;
  readonly root: bigint;
  readonly consumed: number;
  readonly queueHash: bigint;
  readonly chainId: number;
  readonly rollup: string;
  readonly params: Params;
}

export function snapshotOf(state: State, o: { batch: number; consumed: number; queueHash: bigint; chainId: number; rollup: string }): AuditSnapshot {
  const accounts = state.accountIds().map((id): SnapshotAccount => {
    const a = state.account(id);
    return {
      id,
      ax: a.ax.toString(),
      ay: a.ay.toString(),
      nonce: a.nonce.toString(),
      balances: Object.fromEntries([...a.balances].map(([t, v]) => [String(t), v.toString()])),
      orders: Object.fromEntries([...state.orderSlots(id)].map(([s, v]) => [String(s), v.toString()])),
    };
  });
  return {
    kind: "modex-audit-snapshot",
    version: SNAPSHOT_VERSION,
    params: { ...state.params },
    chainId: o.chainId,
    rollup: o.rollup,
    batch: o.batch,
    root: state.root.toString(),
    queue: { consumed: o.consumed, queueHash: o.queueHash.toString() },
    accounts,
    writtenAt: new Date().toISOString(),
  };
}

/** Rebuilds the State of a snapshot through State's own updates; throws if its root is not the snapshot's. */
export function restoreSnapshot(s: AuditSnapshot): LoadedSnapshot {
  if (s.kind !== "modex-audit-snapshot") throw new Error("not a modex audit snapshot");
  if (s.version !== SNAPSHOT_VERSION) throw new Error(`unsupported snapshot version ${String(s.version)} (expected ${SNAPSHOT_VERSION})`);
  const state = new State(s.params);
  for (const a of s.accounts) {
    const fields = { ax: BigInt(a.ax), ay: BigInt(a.ay), nonce: BigInt(a.nonce) };
    const tokens = Object.keys(a.balances).map(Number);
    if (tokens.length === 0) tokens.push(0);
    for (const t of tokens) state.updateAccount(a.id, t, () => ({ ...fields, balance: BigInt(a.balances[String(t)] ?? "0") }));
    // An order slot is written with a zero-amount trade (no balance changes).
    for (const [slot, leaf] of Object.entries(a.orders)) {
      state.updateTrade(a.id, { giveToken: 0, give: 0n, getToken: 0, get: 0n, slot: Number(slot), newSlotLeaf: BigInt(leaf) });
    }
  }
  const root = BigInt(s.root);
  if (state.root !== root) throw new Error(`snapshot is corrupt: its accounts give root ${state.root}, it says ${root}`);
  return { state, batch: s.batch, root, consumed: s.queue.consumed, queueHash: BigInt(s.queue.queueHash), chainId: s.chainId, rollup: s.rollup, params: s.params };
}

export function readSnapshotFile(file: string): LoadedSnapshot | null {
  if (!existsSync(file)) return null;
  let parsed: AuditSnapshot;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8")) as AuditSnapshot;
  } catch (e) {
    throw new Error(`snapshot ${file} is not JSON: ${(e as Error).message}`);
  }
  try {
    return restoreSnapshot(parsed);
  } catch (e) {
    throw new Error(`snapshot ${file}: ${(e as Error).message}`);
  }
}

export function writeSnapshotFile(file: string, s: AuditSnapshot): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(s, null, 1) + "\n");
  renameSync(tmp, file);
}
