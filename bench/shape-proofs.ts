/**
 * Proof wall time per batch shape of a config, one embedded pool worker on every core (the default),
 * rounds alternated over the shapes after one warm-up round; each batch is an empty batch of its shape
 * (a proof's time does not depend on what its slots hold). Fits t = a + b·constraints over the shapes:
 * `a`, in constraint-equivalents (a / b), is the fixed cost per batch the sequencer's shape choice adds
 * (sequencer/shapes.ts BATCH_OVERHEAD_CONSTRAINTS).
 *
 *   npx tsx bench/shape-proofs.ts [--config default] [--rounds 3] [--backend native|snarkjs]
 */
import { parseArgs } from "node:util";
import { CONFIGS, State, buildBatch, configByName, initCrypto, shapeKey } from "../core";
import { createProver, parseBackend } from "../prover/select";
import { shapeKeys } from "../prover/shape-keys";

export interface ShapeProofTimes {
  readonly config: string;
  readonly backend: string;
  readonly rounds: number;
  readonly shapes: { shape: string; constraints: number; wallMs: number[]; witnessMs: number[]; proveMs: number[]; medianWallMs: number }[];
  readonly fit: { interceptMs: number; msPerConstraint: number; overheadConstraints: number } | null;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function benchShapeProofs(o: { config?: string; rounds?: number; backend?: string; log?: (x: object) => void } = {}): Promise<ShapeProofTimes> {
  const log = o.log ?? (() => undefined);
  const config = o.config ?? "default";
  const rounds = o.rounds ?? 3;
  const p = configByName(config);
  await initCrypto();
  const shapes = await shapeKeys(p, { ensure: true, log: () => undefined });
  const backend = parseBackend(o.backend, undefined, undefined, log);
  const prover = await createProver({ mode: "embedded", artifacts: shapes.map((s) => s.artifacts), backend, log: () => undefined });
  try {
    const jobs = shapes.map((s, i) => {
      const b = buildBatch(new State(p), { shape: s.shape, chainId: 31337, rollup: "0x5FbDB2315678afecb367f032d93F642f64180aa3", timestamp: 1_700_000_000, queueHashBefore: 0n, deposits: [], txs: [] });
      return { batchNumber: i + 1, circuitInput: b.circuitInput, publicSignals: b.publicSignals.map(String), circuitHash: s.circuit.circuitHash };
    });
    const rows = shapes.map((s) => ({ shape: shapeKey(s.shape), constraints: s.circuit.constraints, wallMs: [] as number[], witnessMs: [] as number[], proveMs: [] as number[], medianWallMs: 0 }));
    for (let r = -1; r < rounds; r++) {
      for (let i = 0; i < jobs.length; i++) {
        const t = performance.now();
        const res = await prover.prove({ ...jobs[i], batchNumber: 100 * (r + 2) + i });
        const wall = performance.now() - t;
        log({ msg: "bench.shape_proofs.proof", round: r, shape: rows[i].shape, wallMs: Math.round(wall), ...res.timings });
        if (r < 0) continue; // warm-up
        rows[i].wallMs.push(Math.round(wall));
        rows[i].witnessMs.push(Math.round(res.timings.witnessMs));
        rows[i].proveMs.push(Math.round(res.timings.proveMs));
      }
    }
    for (const row of rows) row.medianWallMs = median(row.wallMs);
    // Least squares t = a + b·constraints over the shapes' medians.
    let fit: ShapeProofTimes["fit"] = null;
    if (rows.length >= 2) {
      const n = rows.length;
      const mx = rows.reduce((s, x) => s + x.constraints, 0) / n;
      const my = rows.reduce((s, x) => s + x.medianWallMs, 0) / n;
      const sxx = rows.reduce((s, x) => s + (x.constraints - mx) ** 2, 0);
      const sxy = rows.reduce((s, x) => s + (x.constraints - mx) * (x.medianWallMs - my), 0);
      if (sxx > 0) {
        const b = sxy / sxx;
        const a = my - b * mx;
        fit = { interceptMs: Math.round(a), msPerConstraint: Number(b.toPrecision(4)), overheadConstraints: Math.round(a / b) };
      }
    }
    return { config, backend: o.backend ?? "default", rounds, shapes: rows, fit };
  } finally {
    await prover.close();
  }
}

if (require.main === module) {
  const { values } = parseArgs({ options: { config: { type: "string" }, rounds: { type: "string" }, backend: { type: "string" } } });
  if (values.config && !(values.config in CONFIGS)) throw new Error(`unknown config ${values.config}`);
  benchShapeProofs({
    config: values.config,
    rounds: values.rounds ? Number(values.rounds) : undefined,
    backend: values.backend,
    log: (x) => process.stderr.write(JSON.stringify(x) + "\n"),
  }).then((r) => console.log(JSON.stringify(r, null, 2)), (e) => {
    console.error(e);
    process.exit(1);
  });
}
