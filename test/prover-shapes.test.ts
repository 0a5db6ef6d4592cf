/**
 * Provers of several batch shapes (issue 13), with the real batch circuits of a two-shape deployment
 * built from the test config: its own shape (D1, N2, M1) and (D1, N0, M1). Each shape is its own circuit
 * with its own development keys (compiled once, about a minute each, then cached under build/circuits;
 * keys under .modex/keys). One embedded pool and one cluster worker serve both circuits; each batch is
 * proven by its shape's circuit and its proof verifies under that circuit's key only.
 */
import { Queue } from "bullmq";
import { CONFIGS, State, buildBatch, generatePrivateKey, initCrypto, publicKeyOf, QUEUE_REGISTER } from "../core";
import { shapeOf, shapeKey, shapesOf, withShape, type Params, type Shape } from "../core/params";
import { createClusterProver, type ClusterProver } from "../prover/cluster";
import { paramsArtifacts, startProverWorker } from "../prover/cluster-worker";
import { releaseSnarkjsCurve } from "../prover/keys";
import { createProverPool, ProverError, type ProverPool } from "../prover/pool";
import { QUEUE_PREFIX, queueNameFor } from "../prover/redis-queue";
import type { CircuitArtifacts, ProofJob, ProofResult } from "../prover/types";
import { createProofVerifier } from "../prover/verify";
import { startRedis, type TestRedis } from "./helpers/redis";
import { ROLLUP } from "./helpers/world";

const quiet = (): void => undefined;

/** The test config with a second, smaller shape: no transfer slots. */
const P: Params = { ...CONFIGS.test, shapes: [shapeOf(CONFIGS.test), { depositSlots: 1, l2Slots: 0, fillSlots: 1 }] };

interface LogLine {
  msg?: string;
  [k: string]: unknown;
}

/** A batch of shape `s` that registers one account, as the proof job of that shape's circuit. */
function registrationJob(batchNumber: number, s: Shape, circuitHash: string | undefined): ProofJob {
  const state = new State(withShape(P, s));
  const b = buildBatch(state, {
    chainId: 31337,
    rollup: ROLLUP,
    timestamp: 1_000 + batchNumber,
    queueHashBefore: 0n,
    deposits: [{ kind: QUEUE_REGISTER, accountId: 1, token: 0, amount: 10n ** 18n, ...publicKeyOf(generatePrivateKey()) }],
    txs: [],
  });
  return { batchNumber, circuitInput: b.circuitInput, publicSignals: b.publicSignals.map(String), ...(circuitHash ? { circuitHash } : {}) };
}

describe("provers of several batch shapes (test config + a D1-N0-M1 shape)", () => {
  let circuits: CircuitArtifacts[];
  let jobs: ProofJob[];

  /** Checks each result under its own circuit's key and under the other's. */
  async function expectVerifiesOnlyUnderOwnKey(results: readonly ProofResult[]): Promise<void> {
    const verifiers = await Promise.all(circuits.map((c) => createProofVerifier(c.vkeyPath)));
    for (const [i, r] of results.entries()) {
      expect(r.publicSignals[0]).toBe(jobs[i].publicSignals[0]);
      expect(await verifiers[i].check(r.proof, r.publicSignals, jobs[i].publicSignals)).toBeNull();
      expect(await verifiers[1 - i].check(r.proof, r.publicSignals, jobs[i].publicSignals)).toMatch(/does not verify/);
    }
  }

  beforeAll(async () => {
    await initCrypto();
    // What `modex prover worker --config NAME` builds for a config's shapes (here with development keys).
    circuits = await paramsArtifacts(P, { ensure: true, log: quiet });
    expect(circuits.map((c) => c.name)).toEqual(shapesOf(P).map((s) => `batch-a2-b1-o1-${shapeKey(s)}-f2`));
    expect(new Set(circuits.map((c) => c.circuitHash)).size).toBe(2);
    jobs = shapesOf(P).map((s, i) => registrationJob(i + 1, s, circuits[i].circuitHash));
  });

  afterAll(async () => {
    await releaseSnarkjsCurve();
  });

  test("an embedded pool of both circuits proves a batch of each shape with its own circuit", async () => {
    const logs: LogLine[] = [];
    const pool: ProverPool = createProverPool({ artifacts: circuits, size: 1, log: (o) => logs.push(o as LogLine) });
    try {
      expect(pool.circuits.map((c) => c.circuitHash)).toEqual(circuits.map((c) => c.circuitHash));
      const results: ProofResult[] = [];
      for (const j of jobs) results.push(await pool.prove(j));
      await expectVerifiesOnlyUnderOwnKey(results);
      // One worker loaded each circuit once, on its first job.
      expect(pool.workers()[0].loadedCircuits).toEqual(circuits.map((c) => c.circuitHash));
      expect(logs.filter((l) => l.msg === "prover.job.done").map((l) => l.circuitName)).toEqual(circuits.map((c) => c.name));

      // The second shape's batch without its circuitHash goes to the first circuit, which it does not fit.
      const { circuitHash: _h, ...unnamed } = jobs[1];
      const err = (await pool.prove({ ...unnamed, batchNumber: 3 }).catch((e: unknown) => e)) as ProverError;
      expect(err).toBeInstanceOf(ProverError);
      expect(err.code).toBe("witness");
      // A circuit the pool does not have: refused, and the pool serves on.
      await expect(pool.prove({ ...jobs[0], batchNumber: 4, circuitHash: "00".repeat(32) })).rejects.toMatchObject({ code: "circuit", message: expect.stringContaining("batch-a2-b1-o1-d1-n0-m1-f2") });
      const again = await pool.prove({ ...jobs[1], batchNumber: 5 });
      expect(again.publicSignals[0]).toBe(jobs[1].publicSignals[0]);
      const rss = logs.filter((l) => l.msg === "prover.job.done").map((l) => l.maxRssMb);
      logs.length = 0;
      process.stderr.write(`prover-shapes: worker max RSS after each proof (MiB): ${rss.join(", ")}\n`);
    } finally {
      await pool.close();
    }
  });

  test("a cluster worker of the two-shape config consumes the jobs of both circuits' queues", async () => {
    const redis: TestRedis = await startRedis();
    const provers: ClusterProver[] = [];
    const logs: LogLine[] = [];
    try {
      // As the CLI does for --config: the artifacts of every shape, keys already set up.
      const served = await paramsArtifacts(P, { log: quiet });
      expect(served).toEqual(circuits);
      const h = await startProverWorker({ redisUrl: redis.url, artifacts: served, concurrency: 1, lockMs: 5_000, log: (o) => logs.push(o as LogLine) });
      try {
        expect(h.queueNames).toEqual(circuits.map((c) => queueNameFor(c.circuitHash)));
        const p = await createClusterProver({ redisUrl: redis.url, artifacts: circuits, log: quiet, lockMs: 5_000 });
        provers.push(p);
        const results = await Promise.all(jobs.map((j) => p.prove(j)));
        for (const r of results) expect(r.worker).toBe(h.id);
        await expectVerifiesOnlyUnderOwnKey(results);
        for (const c of circuits) {
          const q = new Queue(queueNameFor(c.circuitHash), { connection: { url: redis.url }, prefix: QUEUE_PREFIX });
          try {
            expect(await q.getJobCounts("completed", "failed")).toEqual({ completed: 1, failed: 0 });
          } finally {
            await q.close();
          }
        }
        const st = await p.status();
        expect(st.workers).toEqual([expect.objectContaining({ id: h.id, circuits: circuits.map((c) => c.circuitHash), jobsDone: 2 })]);
        expect(logs.filter((l) => l.msg === "prover.worker.job_done").map((l) => l.circuitName).sort()).toEqual(circuits.map((c) => c.name).sort());
      } finally {
        expect(await h.stop()).toBe("drained");
      }
    } finally {
      await Promise.all(provers.map((p) => p.close()));
      await redis.stop();
    }
  });
});
