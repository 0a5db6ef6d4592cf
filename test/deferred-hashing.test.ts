/**
 * Deferred hashing (SparseMerkleTree.set with defer, State.withoutWitnesses, used by the replay)
 * gives exactly the roots and proofs of eager hashing, through commits and rollbacks; and the WAL
 * group sync (sequencer/wal-sync.ts) settles every waiter after an fsync that started after it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CONFIGS, SparseMerkleTree, State, rootFromProof } from "../core";
import { Store } from "../sequencer/store";
import { WalSync } from "../sequencer/wal-sync";
import { Rng } from "./helpers/rng";

describe("deferred hashing", () => {
  test("a tree with deferred writes has the eager tree's root, proofs and rollbacks", () => {
    const rng = new Rng(7);
    const eager = new SparseMerkleTree(4, 3);
    const lazy = new SparseMerkleTree(4, 3);
    for (let round = 0; round < 20; round++) {
      const journalE: (() => void)[] = [];
      const journalL: (() => void)[] = [];
      const keep = rng.int(2) === 0;
      for (let k = 0; k < 1 + rng.int(6); k++) {
        const i = rng.int(64);
        const v = rng.int(3) === 0 ? 0n : BigInt(1 + rng.int(5));
        eager.set(i, v, journalE);
        lazy.set(i, v, journalL, true);
      }
      if (!keep) {
        journalE.reverse().forEach((u) => u());
        journalL.reverse().forEach((u) => u());
      }
      expect(lazy.root).toBe(eager.root);
      const i = rng.int(64);
      expect(lazy.proof(i)).toEqual(eager.proof(i));
      expect(rootFromProof(4, lazy.proof(i))).toBe(lazy.root);
    }
  });

  test("State.withoutWitnesses reaches the same roots as witnessed updates, and rolls back whole", () => {
    const p = CONFIGS.default;
    const rng = new Rng(11);
    const a = new State(p);
    const b = new State(p);
    const step = (s: State, witnesses: boolean, f: (s: State) => void): void => (witnesses ? f(s) : s.withoutWitnesses(() => f(s)));
    for (let round = 0; round < 30; round++) {
      const ops: ((s: State) => void)[] = [];
      for (let k = 0; k < 1 + rng.int(5); k++) {
        const id = rng.int(12);
        const token = rng.int(4);
        const amount = BigInt(1 + rng.int(1000));
        const kind = rng.int(4);
        if (kind === 0) ops.push((s) => s.updateAccount(id, token, (o) => ({ ...o, ax: o.ax || BigInt(id + 1), ay: o.ay || 5n, balance: o.balance + amount })));
        else if (kind === 1) ops.push((s) => s.updateAccount(id, token, (o) => ({ ...o, nonce: o.nonce + 1n })));
        else if (kind === 2) ops.push((s) => s.creditBalances(id, [{ token, amount }, { token: (token + 1) % 4, amount: 0n }]));
        else {
          const slot = rng.int(16);
          ops.push((s) => s.updateTrade(id, { giveToken: token, give: 0n, getToken: (token + 1) % 4, get: amount, slot, newSlotLeaf: amount }));
        }
      }
      const rollback = rng.int(3) === 0;
      for (const [s, witnesses] of [[a, true], [b, false]] as const) {
        s.begin();
        for (const op of ops) step(s, witnesses, op);
        if (rollback) s.rollback();
        else s.commit();
      }
      expect(b.root).toBe(a.root);
    }
    // Outside a transaction too, and every read of a proof sees the deferred writes.
    b.withoutWitnesses(() => b.updateAccount(3, 1, (o) => ({ ...o, balance: o.balance + 9n })));
    a.updateAccount(3, 1, (o) => ({ ...o, balance: o.balance + 9n }));
    expect(b.balanceProof(3, 1)).toEqual(a.balanceProof(3, 1));
    expect(b.root).toBe(a.root);
    expect(b.account(3)).toEqual(a.account(3));
  });
});

describe("WAL group sync", () => {
  test("commits made while an fsync runs share the next one; every waiter resolves", async () => {
    const dir = mkdtempSync(join(tmpdir(), "modex-walsync-"));
    try {
      const store = new Store(join(dir, "s.sqlite"));
      store.setMeta("k", "v"); // the WAL file exists once something is written
      const sync = new WalSync(join(dir, "s.sqlite-wal"));
      const waits = Array.from({ length: 50 }, () => sync.sync());
      await Promise.all(waits);
      // One fsync for the first call, one shared by the 49 that arrived while it ran.
      expect(sync.fsyncs).toBeLessThanOrEqual(2);
      const late = sync.sync();
      sync.close();
      await expect(late).resolves.toBeUndefined();
      await expect(sync.sync()).rejects.toThrow("closed");
      store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a failed fsync fails its waiters and every later one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "modex-walsync-"));
    try {
      const sync = new WalSync(join(dir, "missing-wal"));
      await expect(sync.sync()).rejects.toThrow();
      await expect(sync.sync()).rejects.toThrow();
      sync.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
