/**
 * The prover pool end to end, in both modes, with real proofs of the test circuit on anvil:
 * - a worker SIGKILLed mid-proof: its job is retried on another worker and every batch is still
 *   finalized, in order;
 * - the sequencer restarted while jobs are leased: the new process picks the jobs up (embedded:
 *   proves them again; cluster: re-attaches to the job the remote worker still holds) and every
 *   batch is finalized, in order.
 * The lifecycle (queued → leased → … → finalized, attempts, errors) is read back from the
 * sequencer's own view (GET /v1/prover) and /metrics.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CONFIGS, initCrypto } from "../core";
import { releaseSnarkjsCurve } from "../prover/keys";
import { createProverPool } from "../prover/pool";
import type { Prover } from "../prover/types";
import type { ProofJobInfo } from "../sequencer/views";
import { allFinalized, openNode, startDevChain, transferBody, until, type ChainUser, type DevChain, type Node } from "./helpers/devchain";
import { startRedis, type RedisServer } from "./helpers/redis";

const P = CONFIGS.test;
const ETHER = 10n ** 18n;
const REPO = join(__dirname, "..");

/** What differs between the modes: where provers come from and how a worker is killed. */
interface Rig {
  readonly mode: "embedded" | "cluster";
  /** A sequencer-side prover (a new one per sequencer process). */
  prover(): Promise<Prover>;
  /** SIGKILLs the worker process with this id (as the job lifecycle names it). */
  kill(workerId: string): void;
  stop(): Promise<void>;
}

function pidOf(workerId: string): number {
  const pid = Number(workerId.split("/").pop());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`worker id ${workerId} names no pid`);
  return pid;
}

async function embeddedRig(chain: DevChain): Promise<Rig> {
  const provers: Prover[] = [];
  return {
    mode: "embedded",
    async prover() {
      const p = createProverPool({ artifacts: chain.artifacts, size: 2, log: () => undefined });
      provers.push(p);
      return p;
    },
    kill: (id) => process.kill(pidOf(id), "SIGKILL"),
    stop: async () => void (await Promise.all(provers.map((p) => p.close()))),
  };
}

/** Real worker processes (`modex prover worker`) on a real redis-server. */
async function clusterRig(chain: DevChain): Promise<Rig> {
  const redis: RedisServer = await startRedis();
  const workers = new Set<ChildProcess>();
  const provers: Prover[] = [];
  const startWorker = async (): Promise<void> => {
    const child = spawn(
      process.execPath,
      [
        "--require", require.resolve("tsx/cjs"), join(REPO, "prover", "cluster-worker.ts"),
        "--redis", redis.url, "--concurrency", "1", "--lock-ms", "3000",
        "--circuit-wasm", chain.artifacts.wasmPath, "--zkey", chain.artifacts.zkeyPath, "--vkey", chain.artifacts.vkeyPath, "--circuit-hash", chain.artifacts.circuitHash,
      ],
      { cwd: REPO, stdio: ["ignore", "ignore", "pipe"] },
    );
    workers.add(child);
    child.once("exit", () => workers.delete(child));
    await new Promise<void>((resolve, reject) => {
      let buf = "";
      child.stderr?.setEncoding("utf8");
      child.stderr?.on("data", (d: string) => {
        buf += d;
        if (buf.includes('"prover.worker.ready"')) resolve();
        if (buf.length > 1_000_000) buf = buf.slice(-10_000);
      });
      child.once("exit", (code) => reject(new Error(`prover worker exited with ${code} before it was ready: ${buf.slice(-2000)}`)));
    });
  };
  await Promise.all([startWorker(), startWorker()]);
  const { createClusterProver } = await import("../prover/cluster");
  return {
    mode: "cluster",
    async prover() {
      const p = await createClusterProver({ redisUrl: redis.url, artifacts: chain.artifacts, log: () => undefined });
      provers.push(p);
      return p;
    },
    kill(id) {
      process.kill(pidOf(id), "SIGKILL");
      // The operator's supervisor would start a new one; the job must not wait for it, though.
      void startWorker().catch(() => undefined);
    },
    async stop() {
      await Promise.all(provers.map((p) => p.close()));
      for (const w of workers) w.kill("SIGKILL");
      await redis.stop();
    },
  };
}

/** Batches `from..to` were finalized in order: on L1 (events) and in the job lifecycle. */
async function expectFinalizedInOrder(chain: DevChain, node: Node, from: number, to: number): Promise<ProofJobInfo[]> {
  const onL1 = await chain.finalizedOnL1();
  expect(onL1).toEqual(Array.from({ length: onL1.length }, (_, i) => i + 1));
  expect(onL1.length).toBeGreaterThanOrEqual(to);
  const view = await node.client.prover();
  const jobs = view.recent.filter((j) => j.batch >= from && j.batch <= to).sort((a, b) => a.batch - b.batch);
  expect(jobs.map((j) => j.batch)).toEqual(Array.from({ length: to - from + 1 }, (_, i) => from + i));
  for (const j of jobs) {
    expect(j).toMatchObject({ state: "finalized", leasedAt: expect.any(Number), provenAt: expect.any(Number), verifiedAt: expect.any(Number), submittedAt: expect.any(Number), finalizedAt: expect.any(Number) });
    expect(j.timings).toMatchObject({ proofWallMs: expect.any(Number), acceptVerifyMs: expect.any(Number) });
  }
  for (let i = 1; i < jobs.length; i++) expect(jobs[i].finalizedAt as number).toBeGreaterThanOrEqual(jobs[i - 1].finalizedAt as number);
  return jobs;
}

/** The first job in `batches` that a worker holds, once it has held it for `heldMs` (past its witness). */
async function leasedJob(node: Node, batches: readonly number[], heldMs: number): Promise<ProofJobInfo> {
  return until(
    `a leased job among batches ${batches.join(", ")}`,
    async () => {
      const view = await node.client.prover();
      return view.recent.find((j) => batches.includes(j.batch) && j.state === "leased" && j.worker !== null && j.leasedAt !== null && Date.now() - j.leasedAt >= heldMs) ?? null;
    },
    120_000,
    100,
  );
}

describe.each(["embedded", "cluster"] as const)("prover pool end to end, %s mode", (mode) => {
  let chain: DevChain;
  let rig: Rig;
  let tmp: string;
  let db: string;
  let node: Node | null = null;
  let alice: ChainUser;
  let bob: ChainUser;

  beforeAll(async () => {
    await initCrypto();
    tmp = mkdtempSync(join(tmpdir(), `modex-pool-e2e-${mode}-`));
    db = join(tmp, "seq.sqlite");
    chain = await startDevChain(P);
    rig = mode === "embedded" ? await embeddedRig(chain) : await clusterRig(chain);
    alice = await chain.register(1, 10n * ETHER);
    bob = await chain.register(2, 0n);
  });

  afterAll(async () => {
    await node?.close();
    await rig?.stop();
    await chain?.stop();
    await releaseSnarkjsCurve();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const submitTransfers = async (count: number): Promise<`0x${string}`[]> => {
    const out: `0x${string}`[] = [];
    for (let i = 0; i < count; i++) out.push((await (node as Node).client.submitTx(transferBody(chain, alice, bob, ETHER / 100n).body)).hash);
    return out;
  };

  test("a worker SIGKILLed mid-proof: the job is retried elsewhere and every batch is finalized, in order", async () => {
    node = await openNode(chain, db, { prover: await rig.prover(), batchTimeoutMs: 60_000 });
    const n = node;
    // The operator's and two users' registrations: one batch each (one deposit slot).
    await until("registrations finalized", async () => {
      const st = await n.client.status();
      return st.queue.consumed === 3 && st.finalizedBatch === st.latestBatch;
    });
    const first = (await n.client.status()).latestBatch + 1;
    const mine = [first, first + 1, first + 2];
    // Six transfers: three full batches (two L2 slots), all handed to the prover at once.
    const hashes = await submitTransfers(6);
    // Past the witness (about 1 s), inside the Groth16 step.
    const victim = await leasedJob(n, mine, 2_500);
    rig.kill(victim.worker as string);
    const txs = await allFinalized(n.client, hashes);
    expect(txs.map((t) => t.batch)).toEqual([mine[0], mine[0], mine[1], mine[1], mine[2], mine[2]]);

    const s = await n.client.status();
    expect(s).toMatchObject({ halted: null, latestBatch: mine[2], finalizedBatch: mine[2] });
    const jobs = await expectFinalizedInOrder(chain, n, 1, mine[2]);
    const killed = jobs.find((j) => j.batch === victim.batch) as ProofJobInfo;
    // The killed attempt is on record, with the worker that died; the proof came from another attempt.
    expect(killed.attempts).toBeGreaterThanOrEqual(2);
    expect(killed.errors[0]).toMatchObject({ worker: victim.worker, error: expect.any(String) });
    expect(killed.worker).not.toBe(victim.worker);

    const metrics = await (await fetch(`${n.api.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^modex_proof_jobs\\{state="finalized"\\} ${mine[2]}$`, "m"));
    expect(metrics).toMatch(new RegExp(`^modex_batches_finalized ${mine[2]}$`, "m"));
  });

  test("the sequencer restarted while jobs are leased: every batch is finalized, in order", async () => {
    const first = node as Node;
    const next = (await first.client.status()).latestBatch + 1;
    const mine = [next, next + 1];
    const hashes = await submitTransfers(4);
    await leasedJob(first, mine, 1_500);
    await first.close();
    node = null;
    // The new process: same database, a new prover (embedded: its old workers are gone with it).
    node = await openNode(chain, db, { prover: await rig.prover(), batchTimeoutMs: 60_000 });
    const n = node;
    const txs = await allFinalized(n.client, hashes);
    expect(txs.map((t) => t.batch)).toEqual([mine[0], mine[0], mine[1], mine[1]]);
    expect(await n.client.status()).toMatchObject({ halted: null, latestBatch: mine[1], finalizedBatch: mine[1] });
    await expectFinalizedInOrder(chain, n, 1, mine[1]);
  });
});
