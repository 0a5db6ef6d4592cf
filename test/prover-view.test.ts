/**
 * The operator view of the prover pool: the pure view (proof-time stats, batch rate, the
 * autoscaling signal), the Prometheus rendering, GET /v1/prover and GET /metrics on the real
 * express app over a stand-in sequencer, and `modex prover ...` (status against that server, the
 * worker subcommand's dispatch with prover/cluster-worker mocked).
 */
import type { RunningApi } from "../sequencer/api";
import { serve } from "../sequencer/api";
import { ApiError } from "../sequencer/errors";
import { silentLogger } from "../sequencer/log";
import { escapeLabel, renderMetrics } from "../sequencer/metrics";
import { batchRate, buildProverView, proofTimeStats, workersNeeded, type ProverViewInput } from "../sequencer/prover-view";
import { batchesToCut } from "../sequencer/plan";
import type { Sequencer } from "../sequencer/sequencer";
import { PROOF_JOB_STATES, type ProofJobInfo, type ProofJobState, type ProverView, type StatusView } from "../sequencer/views";
import type { ProverStatus, ProverWorkerStatus } from "../prover/types";
import { CONFIGS, type Params } from "../core/params";
import type { CliContext } from "../cli/context";
import { renderProverStatus } from "../cli/cmd-prover";
import { main } from "../cli/main";

const runProverWorker = jest.fn<Promise<number>, [readonly string[]]>();
jest.mock("../prover/cluster-worker", () => ({ runProverWorker: (argv: readonly string[]) => runProverWorker(argv) }));

const NOW = 1_700_000_000_000;
const CIRCUIT = "c0ffee".padEnd(64, "0");
const OTHER = "badc1c".padEnd(64, "1");

function counts(over: Partial<Record<ProofJobState, number>> = {}): Record<ProofJobState, number> {
  return { ...(Object.fromEntries(PROOF_JOB_STATES.map((s) => [s, 0])) as Record<ProofJobState, number>), ...over };
}

function job(batch: number, over: Partial<ProofJobInfo> = {}): ProofJobInfo {
  return {
    batch,
    state: "finalized",
    attempts: 1,
    worker: "h1/100",
    error: null,
    errors: [],
    queuedAt: NOW - 60_000,
    leasedAt: NOW - 59_000,
    provenAt: NOW - 20_000,
    verifiedAt: NOW - 19_000,
    submittedAt: NOW - 18_000,
    finalizedAt: NOW - 10_000,
    timings: {},
    ...over,
  };
}

function input(over: Partial<ProverViewInput> = {}): ProverViewInput {
  return { mode: "cluster", circuitHash: CIRCUIT, backend: "snarkjs", counts: counts(), jobs: [], batchBuiltAt: [], live: null, liveError: null, now: NOW, ...over };
}

function worker(id: string, over: Partial<ProverWorkerStatus> = {}): ProverWorkerStatus {
  const [host, pid] = id.split("/");
  return { id, host, pid: Number(pid), state: "idle", circuitHash: CIRCUIT, backend: "snarkjs", concurrency: 1, batches: [], jobsDone: 0, jobsFailed: 0, startedAt: NOW - 3_600_000, ...over };
}

const STATUS: StatusView = {
  chainId: 31337,
  rollupAddress: `0x${"ab".repeat(20)}`,
  stateRoot: `0x${"00".repeat(32)}`,
  latestBatch: 42,
  finalizedBatch: 40,
  finalizedRoot: `0x${"00".repeat(32)}`,
  pendingTxs: 7,
  queue: { length: 3, consumed: 3 },
  params: CONFIGS.default,
  prover: { pending: 2, proving: [41] },
  proving: { backlogBatches: 3, proofS: 60, workers: 2, backlogS: 90, maxBacklogS: 600, refusing: false },
  l1: { block: "100", timestamp: 1_700_000_000 },
  forced: { pending: 1, oldestQueueIndex: 3, deadlineBlock: "107", blocksLeft: 7 },
  halted: null,
};

/** A busy cluster: steady batches every 30 s, proofs of ~60 s, one failure, a worker on another circuit. */
function busyView(): ProverView {
  const live: ProverStatus = {
    mode: "cluster",
    circuitHash: CIRCUIT,
    backend: "snarkjs",
    queued: 1,
    leased: 1,
    queue: "redis://10.0.0.5:6379",
    workers: [
      worker("h1/100", { state: "busy", batches: [42], jobsDone: 30, jobsFailed: 1 }),
      worker("h2/200", { jobsDone: 11 }),
      worker("h3/300", { state: "starting", circuitHash: OTHER }),
    ],
  };
  const jobs: ProofJobInfo[] = [
    job(42, { state: "leased", provenAt: null, verifiedAt: null, submittedAt: null, finalizedAt: null, timings: { waitMs: 1_000 } }),
    job(41, { state: "queued", attempts: 1, worker: null, leasedAt: null, provenAt: null, verifiedAt: null, submittedAt: null, finalizedAt: null, error: "worker h2/200 stalled", errors: [{ at: NOW - 5_000, attempt: 1, worker: "h2/200", error: "worker h2/200 stalled" }] }),
    ...Array.from({ length: 40 }, (_, i) => job(40 - i, { timings: { waitMs: 500, proofWallMs: 60_000 + (i % 5) * 1_000 } })),
  ];
  return buildProverView(
    input({
      counts: counts({ queued: 1, leased: 1, finalized: 40 }),
      jobs,
      batchBuiltAt: Array.from({ length: 120 }, (_, i) => NOW - 10_000 - i * 30_000),
      live,
    }),
  );
}


/** 4 L2 slots, 1 fill slot, 2 L1 slots on the default trees. */
const FOUR_ONE_TWO: Params = { ...CONFIGS.default, depositSlots: 2, l2Slots: 4, fillSlots: 1, shapes: [{ depositSlots: 2, l2Slots: 4, fillSlots: 1 }] };
describe("workersNeeded (pure)", () => {
  test("nothing to do is 0; anything to do is at least 1", () => {
    expect(workersNeeded({ batchesPerS: 0, meanProofS: 60, backlog: 0, horizonS: 300 })).toBe(0);
    expect(workersNeeded({ batchesPerS: 0, meanProofS: null, backlog: 0, horizonS: 300 })).toBe(0);
    expect(workersNeeded({ batchesPerS: 1 / 3600, meanProofS: 1, backlog: 0, horizonS: 300 })).toBe(1);
    expect(workersNeeded({ batchesPerS: 0, meanProofS: 1, backlog: 1, horizonS: 300 })).toBe(1);
  });

  test("Little's law: ⌈λ·T̄⌉ workers keep up with the arrival rate", () => {
    expect(workersNeeded({ batchesPerS: 1 / 30, meanProofS: 60, backlog: 0, horizonS: 300 })).toBe(2);
    expect(workersNeeded({ batchesPerS: 1 / 30, meanProofS: 45, backlog: 0, horizonS: 300 })).toBe(2);
    expect(workersNeeded({ batchesPerS: 1 / 30, meanProofS: 61, backlog: 0, horizonS: 300 })).toBe(3);
    // Float noise does not add a worker: 0.1 · 30 = 3.0000000000000004.
    expect(workersNeeded({ batchesPerS: 0.1, meanProofS: 30, backlog: 0, horizonS: 300 })).toBe(3);
  });

  test("the backlog is drained within the horizon: ⌈B·T̄ / horizon⌉", () => {
    expect(workersNeeded({ batchesPerS: 0, meanProofS: 60, backlog: 10, horizonS: 300 })).toBe(2);
    expect(workersNeeded({ batchesPerS: 0, meanProofS: 60, backlog: 11, horizonS: 300 })).toBe(3);
    // The larger of the two rules.
    expect(workersNeeded({ batchesPerS: 1 / 10, meanProofS: 60, backlog: 10, horizonS: 300 })).toBe(6);
  });

  test("without a known proof time a backlog asks for one worker per job", () => {
    expect(workersNeeded({ batchesPerS: 0, meanProofS: null, backlog: 4, horizonS: 300 })).toBe(4);
    expect(workersNeeded({ batchesPerS: 1 / 30, meanProofS: null, backlog: 0, horizonS: 300 })).toBe(1);
  });

  test("nonsense inputs count as 0 rather than NaN", () => {
    expect(workersNeeded({ batchesPerS: NaN, meanProofS: NaN, backlog: -3, horizonS: 300 })).toBe(0);
    expect(workersNeeded({ batchesPerS: Infinity, meanProofS: 10, backlog: 0, horizonS: 300 })).toBe(0);
  });
});

describe("batch rate and proof times (pure)", () => {
  test("a steady rate over a full window: batches inside it / 15 min", () => {
    const times = Array.from({ length: 120 }, (_, i) => NOW - 10_000 - i * 30_000);
    const r = batchRate(times, NOW);
    expect(r.windowS).toBe(900);
    expect(r.batchesPerS * 3600).toBeCloseTo(120, 6);
  });

  test("a young chain: the window starts at its oldest batch, which only marks the start", () => {
    const r = batchRate([NOW, NOW - 20_000, NOW - 40_000, NOW - 60_000], NOW);
    expect(r.windowS).toBe(60);
    expect(r.batchesPerS).toBeCloseTo(3 / 60, 9);
    // Idle since: the rate decays instead of staying at the burst's.
    expect(batchRate([NOW - 600_000, NOW - 610_000, NOW - 620_000], NOW).batchesPerS).toBeCloseTo(2 / 620, 9);
  });

  test("fewer than 2 batches in the window is rate 0", () => {
    expect(batchRate([], NOW)).toEqual({ batchesPerS: 0, windowS: 0 });
    expect(batchRate([NOW - 1_000], NOW).batchesPerS).toBe(0);
    expect(batchRate([NOW - 1_000, NOW - 2_000_000, NOW - 3_000_000], NOW)).toEqual({ batchesPerS: 0, windowS: 900 });
    expect(batchRate([NOW, NOW], NOW).batchesPerS).toBe(0);
  });

  test("proof times: the latest 50 jobs that have one; nearest-rank percentiles", () => {
    const jobs = Array.from({ length: 70 }, (_, i) => job(100 - i, { timings: i % 7 === 6 ? { waitMs: 5 } : { proofWallMs: (i + 1) * 1_000 } }));
    const t = proofTimeStats(jobs);
    const used = jobs.map((j) => j.timings.proofWallMs).filter((x): x is number => x !== undefined).slice(0, 50);
    expect(t.count).toBe(50);
    expect(t.meanMs).toBeCloseTo(used.reduce((a, b) => a + b, 0) / 50, 9);
    const sorted = [...used].sort((a, b) => a - b);
    expect(t.p50Ms).toBe(sorted[24]);
    expect(t.p90Ms).toBe(sorted[44]);
    expect(t.maxMs).toBe(sorted[49]);
    expect(proofTimeStats([job(1, { timings: { proofWallMs: 7 } })])).toEqual({ count: 1, meanMs: 7, p50Ms: 7, p90Ms: 7, maxMs: 7 });
  });
});

describe("buildProverView (pure)", () => {
  test("no jobs, no batches: nulls, zeros, nothing to do", () => {
    const v = buildProverView(input({ mode: "embedded", live: null, liveError: "the prover did not answer within 2 s" }));
    expect(v.proofTimes).toEqual({ count: 0, meanMs: null, p50Ms: null, p90Ms: null, maxMs: null });
    expect(v.autoscale).toMatchObject({ workersNeeded: 0, batchesPerHour: 0, meanProofS: null });
    expect(v.autoscale.reason).toMatch(/^nothing to prove/);
    expect(v.jobs).toEqual(counts());
    expect(v.recent).toEqual([]);
    expect(v.failures).toEqual([]);
    expect(v).toMatchObject({ mode: "embedded", circuitHash: CIRCUIT, backend: "snarkjs", live: null, liveError: "the prover did not answer within 2 s" });
  });

  test("a backlog without proof times asks for one worker per job", () => {
    const v = buildProverView(input({ counts: counts({ queued: 3, leased: 1 }), jobs: [job(4, { state: "leased", timings: {} }), job(3, { state: "queued", timings: {} })] }));
    expect(v.autoscale.workersNeeded).toBe(4);
    expect(v.autoscale.meanProofS).toBeNull();
    expect(v.autoscale.reason).toMatch(/no proof time known yet: one worker per job of the backlog 4 \(3 queued, 1 leased\)/);
  });

  test("a steady rate: λ·T̄ workers, with the numbers in the reason", () => {
    const v = busyView();
    expect(v.proofTimes.count).toBe(40);
    expect(v.proofTimes.meanMs).toBe(62_000);
    expect(v.autoscale.batchesPerHour).toBe(120);
    expect(v.autoscale.windowS).toBe(900);
    expect(v.autoscale.meanProofS).toBe(62);
    // λ·T̄ = 62/30 = 2.07 → 3; backlog 2 · 62 / 300 = 0.41 → 1.
    expect(v.autoscale.workersNeeded).toBe(3);
    expect(v.autoscale.reason).toBe(
      "120 batches/h over 900 s × mean proof 62 s = 2.07 proofs in flight; backlog 2 (1 queued, 1 leased) × 62 s / 300 s = 0.41 to drain it in 5 min → 3 workers",
    );
  });

  test("operations not yet cut count as backlog: cutting pauses behind unproven batches, the signal must not", () => {
    // 4 L2 slots, 1 fill slot, 2 L1 slots: 3 txs, 5 fills and 1 deposit need 5 batches.
    const uncut = { operations: 9, batches: batchesToCut(FOUR_ONE_TWO, { txs: 3, fills: 5, queued: 1 }) };
    expect(uncut.batches).toBe(5);
    const v = buildProverView(input({ counts: counts({ queued: 1, leased: 1 }), uncut }));
    expect(v.autoscale).toMatchObject({ backlogBatches: 7, pendingOperations: 9, workersNeeded: 7 });
    expect(v.autoscale.reason).toMatch(/backlog 7 \(1 queued, 1 leased, 5 to cut from 9 pending operations\)/);
    const busy = busyView();
    expect(busy.autoscale).toMatchObject({ backlogBatches: 2, pendingOperations: 0 });
  });

  test("batchesToCut: each slot type fills on its own", () => {
    const p = FOUR_ONE_TWO;
    expect(batchesToCut(p, { txs: 0, fills: 0, queued: 0 })).toBe(0);
    expect(batchesToCut(p, { txs: 4, fills: 1, queued: 2 })).toBe(1);
    expect(batchesToCut(p, { txs: 5, fills: 0, queued: 0 })).toBe(2);
    expect(batchesToCut(p, { txs: 0, fills: 17, queued: 0 })).toBe(17);
    expect(batchesToCut(p, { txs: 0, fills: 0, queued: 5 })).toBe(3);
  });

  test("recent is the first 20 jobs, failures the first 20 with an error; counts are complete", () => {
    const jobs = Array.from({ length: 60 }, (_, i) =>
      job(60 - i, i % 2 ? { errors: [{ at: NOW, attempt: 1, worker: null, error: `e${i}` }], error: `e${i}` } : {}),
    );
    const v = buildProverView(input({ jobs, counts: { finalized: 60 } as Record<ProofJobState, number> }));
    expect(v.recent.map((j) => j.batch)).toEqual(jobs.slice(0, 20).map((j) => j.batch));
    expect(v.failures).toHaveLength(20);
    expect(v.failures.every((j) => j.errors.length > 0)).toBe(true);
    expect(v.failures[0].batch).toBe(59);
    expect(Object.keys(v.jobs)).toEqual([...PROOF_JOB_STATES]);
    expect(v.jobs).toEqual(counts({ finalized: 60 }));
  });
});

// ---------------------------------------------------------------- Prometheus text

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (-?[0-9.e+-]+)$/i;

interface Parsed {
  readonly help: Map<string, number>;
  readonly type: Map<string, string>;
  readonly samples: Map<string, number>;
}

/** Parses the exposition text strictly enough to catch what Prometheus would reject. */
function parseMetrics(text: string): Parsed {
  expect(text.endsWith("\n")).toBe(true);
  const help = new Map<string, number>();
  const type = new Map<string, string>();
  const samples = new Map<string, number>();
  let family: string | null = null;
  for (const line of text.slice(0, -1).split("\n")) {
    const h = /^# HELP ([a-z_:][a-z0-9_:]*) .+$/.exec(line);
    const t = /^# TYPE ([a-z_:][a-z0-9_:]*) (gauge|counter|summary|histogram|untyped)$/.exec(line);
    if (h) {
      help.set(h[1], (help.get(h[1]) ?? 0) + 1);
      family = h[1];
      continue;
    }
    if (t) {
      if (type.has(t[1])) throw new Error(`TYPE twice for ${t[1]}`);
      type.set(t[1], t[2]);
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    expect(m[1]).toBe(family);
    expect(type.has(m[1])).toBe(true);
    const v = Number(m[3]);
    if (!Number.isFinite(v)) throw new Error(`not a finite value: ${line}`);
    const key = `${m[1]}${m[2] ?? ""}`;
    if (samples.has(key)) throw new Error(`duplicate series ${key}`);
    samples.set(key, v);
  }
  for (const [name, n] of help) expect([name, n]).toEqual([name, 1]);
  expect([...help.keys()].sort()).toEqual([...type.keys()].sort());
  for (const name of help.keys()) expect(name.startsWith("modex_")).toBe(true);
  return { help, type, samples };
}

describe("renderMetrics", () => {
  test("a busy cluster: every metric, valid text, no duplicates, no NaN", () => {
    const text = renderMetrics({ ...STATUS, halted: { reason: "x", batch: 3, at: NOW } }, busyView());
    const { samples, type } = parseMetrics(text);
    expect(Object.fromEntries(samples)).toEqual({
      modex_batches_latest: 42,
      modex_batches_finalized: 40,
      modex_pending_txs: 7,
      modex_halted: 1,
      modex_forced_withdrawals_pending: 1,
      modex_forced_deadline_blocks_left: 7,
      'modex_proof_jobs{state="queued"}': 1,
      'modex_proof_jobs{state="leased"}': 1,
      'modex_proof_jobs{state="proven"}': 0,
      'modex_proof_jobs{state="verified"}': 0,
      'modex_proof_jobs{state="submitted"}': 0,
      'modex_proof_jobs{state="finalized"}': 40,
      'modex_proof_jobs{state="failed"}': 0,
      [`modex_prover_info{mode="cluster",circuit_hash="${CIRCUIT}",backend="snarkjs"}`]: 1,
      modex_prover_up: 1,
      modex_prover_queued: 1,
      modex_prover_leased: 1,
      'modex_prover_workers{state="idle"}': 1,
      'modex_prover_workers{state="busy"}': 1,
      'modex_prover_workers{state="starting"}': 1,
      'modex_prover_workers{state="draining"}': 0,
      'modex_prover_workers{state="stopping"}': 0,
      modex_proving_backlog_batches: 2,
      modex_overloaded: 0,
      modex_proving_backlog_max_seconds: 600,
      modex_proving_backlog_seconds: 90,
      modex_proving_capacity_batches_per_hour: 120,
      modex_prover_workers_circuit_mismatch: 1,
      'modex_prover_worker_jobs_done_total{worker="h1/100"}': 30,
      'modex_prover_worker_jobs_done_total{worker="h2/200"}': 11,
      'modex_prover_worker_jobs_done_total{worker="h3/300"}': 0,
      'modex_prover_worker_jobs_failed_total{worker="h1/100"}': 1,
      'modex_prover_worker_jobs_failed_total{worker="h2/200"}': 0,
      'modex_prover_worker_jobs_failed_total{worker="h3/300"}': 0,
      'modex_proof_seconds{stat="mean"}': 62,
      'modex_proof_seconds{stat="p50"}': 62,
      'modex_proof_seconds{stat="p90"}': 64,
      'modex_proof_seconds{stat="max"}': 64,
      modex_proof_samples: 40,
      modex_proof_attempt_failures: 1,
      modex_prover_workers_needed: 3,
      modex_batches_per_hour: 120,
    });
    expect(type.get("modex_prover_worker_jobs_done_total")).toBe("counter");
    expect(type.get("modex_proof_seconds")).toBe("gauge");
    expect(text).not.toMatch(/NaN|Inf/);
  });

  test("nothing known yet: the live series and proof statistics are absent, not NaN", () => {
    const v = buildProverView(input({ mode: "disabled", circuitHash: null, backend: null }));
    const text = renderMetrics({ ...STATUS, forced: { pending: 0, oldestQueueIndex: null, deadlineBlock: null, blocksLeft: null } }, v);
    const { samples, help } = parseMetrics(text);
    expect(samples.get("modex_forced_withdrawals_pending")).toBe(0);
    expect(samples.has("modex_forced_deadline_blocks_left")).toBe(false);
    expect(samples.get("modex_prover_up")).toBe(0);
    expect(samples.get('modex_prover_info{mode="disabled",circuit_hash="",backend=""}')).toBe(1);
    expect(samples.get("modex_proof_samples")).toBe(0);
    expect(samples.get("modex_halted")).toBe(0);
    expect([...samples.keys()].some((k) => /^modex_prover_(queued|leased|workers\{|workers_circuit|worker_)/.test(k))).toBe(false);
    expect([...samples.keys()].some((k) => k.startsWith("modex_proof_seconds{"))).toBe(false);
    expect(help.has("modex_proof_seconds")).toBe(true);
    expect(text).not.toMatch(/NaN/);
  });

  test("label values are escaped; a worker id reported twice is one series", () => {
    expect(escapeLabel('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    const odd = 'h"x\\y\nz/1';
    const v = buildProverView(
      input({ live: { mode: "cluster", circuitHash: CIRCUIT, backend: 'command:prove "x"', queued: 0, leased: 0, workers: [worker(odd, { jobsDone: 2 }), worker(odd, { jobsDone: 3 })] } }),
    );
    const text = renderMetrics(STATUS, v);
    const { samples } = parseMetrics(text);
    expect(samples.get(`modex_prover_worker_jobs_done_total{worker="h\\"x\\\\y\\nz/1"}`)).toBe(5);
    expect(text.split("\n").filter((l) => l.startsWith("modex_prover_worker_jobs_done_total"))).toHaveLength(1);
  });
});

// ---------------------------------------------------------------- the API and the CLI

interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(argv: string[]): Promise<Captured> {
  let stdout = "";
  let stderr = "";
  const ctx: CliContext = {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    env: {},
    nowMs: () => NOW,
    sleep: () => Promise.resolve(),
  };
  const code = await main(argv, ctx);
  return { code, stdout, stderr };
}

describe("GET /v1/prover, GET /metrics and `modex prover status` (stand-in sequencer)", () => {
  let api: RunningApi;
  let view: ProverView;
  let failWith: Error | null = null;

  beforeAll(async () => {
    view = busyView();
    const seq = {
      status: () => STATUS,
      proverView: () => (failWith ? Promise.reject(failWith) : Promise.resolve(view)),
      stream: { onEvent: () => () => undefined, bookSnapshot: () => null, marketIds: () => [] },
    };
    api = await serve(seq as unknown as Sequencer, 0, { log: silentLogger });
  });

  afterAll(async () => {
    await api?.close();
  });

  afterEach(() => {
    failWith = null;
  });

  test("GET /v1/prover is the view; GET /metrics is the text format 0.0.4", async () => {
    const r = await fetch(`${api.url}/v1/prover`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual(JSON.parse(JSON.stringify(view)));
    const m = await fetch(`${api.url}/metrics`);
    expect(m.status).toBe(200);
    expect(m.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const text = await m.text();
    expect(text).toBe(renderMetrics(STATUS, view));
    parseMetrics(text);
  });

  test("errors are the API's JSON errors", async () => {
    failWith = new ApiError(500, "internal", "sequencer is stopped");
    const r = await fetch(`${api.url}/v1/prover`);
    expect(r.status).toBe(500);
    expect(await r.json()).toEqual({ error: { code: "internal", message: "sequencer is stopped" } });
    failWith = new Error("boom");
    const m = await fetch(`${api.url}/metrics`);
    expect(m.status).toBe(500);
    expect(await m.json()).toEqual({ error: { code: "internal", message: "internal error" } });
  });

  test("modex prover status prints the pool; --json prints the view", async () => {
    const r = await run(["prover", "status", "--api", api.url]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(renderProverStatus(view).join("\n") + "\n");
    const lines = r.stdout.split("\n");
    expect(lines.slice(0, 7)).toEqual([
      "mode         cluster",
      `circuit      ${CIRCUIT}`,
      "backend      snarkjs",
      "jobs         queued 1, leased 1, proven 0, verified 0, submitted 0, finalized 40, failed 0",
      "queue        1 queued, 1 leased (redis://10.0.0.5:6379)",
      "proof times  last 40: mean 62.0 s, p50 62.0 s, p90 64.0 s, max 64.0 s",
      `autoscale    3 workers needed: ${view.autoscale.reason}`,
    ]);
    expect(r.stdout).toContain(
      [
        "workers (3):",
        "  id      state     batches  done  failed  circuit",
        "  h1/100  busy      42       30    1       c0ffee0000000000…",
        "  h2/200  idle      -        11    0       c0ffee0000000000…",
        "  h3/300  starting  -        0     0       badc1c1111111111…  REFUSES JOBS: other circuit",
      ].join("\n"),
    );
    expect(r.stdout.match(/REFUSES JOBS/g)).toHaveLength(1);
    expect(r.stdout).toMatch(/recent jobs \(10 of 20\):\n {2}batch +state +attempts +worker +wait +proof\n {2}42 +leased +1 +h1\/100 +1\.0 s +-\n {2}41 +queued +1 +- +- +-\n {2}40 +finalized +1 +h1\/100 +0\.5 s +60\.0 s\n/);
    expect(r.stdout).toContain(`latest failures (1 of 1):\n  batch 41 [queued] attempt 1 on h2/200 at ${new Date(NOW - 5_000).toISOString()}: worker h2/200 stalled\n`);

    const json = await run(["prover", "status", "--api", api.url, "--json"]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(JSON.parse(JSON.stringify(view)));

    failWith = new ApiError(500, "internal", "sequencer is stopped");
    const refused = await run(["prover", "status", "--api", api.url]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe("modex prover status: error: the API refused: sequencer is stopped (500 internal)\n");
  });

  test("text for a prover without live status, jobs or failures", () => {
    const none = renderProverStatus(buildProverView(input({ mode: "embedded", counts: counts({ queued: 2 }), liveError: "the prover did not answer within 2 s" })));
    expect(none).toContain("queue        2 queued, 0 leased (sequencer's database)");
    expect(none).toContain("proof times  none yet");
    expect(none).toContain("live status unavailable: the prover did not answer within 2 s");
    expect(none).toContain("recent jobs: none");
    expect(none).toContain("failures: none");
    expect(renderProverStatus(buildProverView(input({ mode: "disabled" })))).toContain("live status: none (proving is disabled)");
    const empty = renderProverStatus(buildProverView(input({ live: { mode: "cluster", circuitHash: CIRCUIT, backend: "snarkjs", queued: 0, leased: 0, workers: [] } })));
    expect(empty).toContain("workers: none");
  });
});

describe("modex prover: dispatch and help", () => {
  test("--help lists both subcommands; modex --help has the operators' group", async () => {
    const h = await run(["prover", "--help"]);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/^usage: modex prover <command> \[options\]\n/);
    expect(h.stdout).toMatch(/\n {2}status {2}Show the prover pool/);
    expect(h.stdout).toMatch(/\n {2}worker {2}Run a cluster prover worker/);
    expect((await run(["help", "prover"])).stdout).toBe(h.stdout);
    const bare = await run(["prover"]);
    expect(bare.code).toBe(2);
    expect(bare.stdout).toBe(h.stdout);

    const g = await run(["--help"]);
    expect(g.stdout).toMatch(/\nprover \(operators\):\n {2}prover status +Show the prover pool.*\n {2}prover worker +Run a cluster prover worker/);
    expect(g.stdout).toMatch(/\n  status +Show the rollup's status/);

    const s = await run(["prover", "status", "--help"]);
    expect(s.code).toBe(0);
    expect(s.stdout).toMatch(/^usage: modex prover status \[options\]\n/);
    expect(s.stdout).toContain("--api URL");
    expect((await run(["help", "prover", "status"])).stdout).toBe(s.stdout);
    expect((await run(["prover", "help", "status"])).stdout).toBe(s.stdout);
  });

  test("bad usage exits 2", async () => {
    const u = await run(["prover", "frobnicate"]);
    expect(u.code).toBe(2);
    expect(u.stderr).toBe(`modex prover: unknown command "frobnicate"\nRun 'modex prover --help' for its commands.\n`);
    const extra = await run(["prover", "status", "extra"]);
    expect(extra.code).toBe(2);
    expect(extra.stderr).toBe("modex prover status: error: unexpected argument: extra\nRun 'modex prover status --help' for usage.\n");
    const unreachable = await run(["prover", "status", "--api", "http://127.0.0.1:1"]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/^modex prover status: error: cannot reach the Modex API at http:\/\/127\.0\.0\.1:1/);
  });

  test("modex prover worker ARGS runs runProverWorker(ARGS) and exits with its status", async () => {
    runProverWorker.mockResolvedValueOnce(3);
    const r = await run(["prover", "worker", "--redis", "redis://q:6379", "--concurrency", "2"]);
    expect(r.code).toBe(3);
    expect(runProverWorker).toHaveBeenLastCalledWith(["--redis", "redis://q:6379", "--concurrency", "2"]);
    runProverWorker.mockResolvedValueOnce(0);
    expect((await run(["prover", "worker", "--help"])).code).toBe(0);
    expect(runProverWorker).toHaveBeenLastCalledWith(["--help"]);
    runProverWorker.mockRejectedValueOnce(new Error("cannot connect to redis://q:6379"));
    const failed = await run(["prover", "worker", "--redis", "redis://q:6379"]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toBe("modex prover worker: error: cannot connect to redis://q:6379\n");
  });
});
