/**
 * The Groth16 step alone, backend against backend, on the same files (bench/prover.ts, part "ab").
 *
 * One batch's witness is written once to a .wtns file; then each backend proves it as its own
 * process with rapidsnark's convention `PROVER <zkey> <witness.wtns> <proof.json> <public.json>`,
 * under `/usr/bin/time`, rounds alternated (native, snarkjs[, rapidsnark], native, snarkjs, ...):
 * - native: native/build/Release/modex-prover [--threads N] (MODEX_PROVER_STATS=1: its phase times);
 * - snarkjs: node node_modules/snarkjs/build/cli.cjs groth16 prove;
 * - rapidsnark: $MODEX_RAPIDSNARK, when set.
 * Per run: wall (%e), user + sys CPU (%U %S: the child and everything it waited for) and peak RSS
 * (%M) of that process alone; every proof is checked with snarkjs.groth16.verify and its public
 * signal against the batch's.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as snarkjs from "snarkjs";
import { nativeProverExecutable } from "../core/native";

export type LogFn = (o: object) => void;

export const TIME_BINARY = "/usr/bin/time";

export type AbBackend = "native" | "snarkjs" | "rapidsnark";

export interface AbRun {
  readonly round: number;
  readonly wallS: number;
  readonly userS: number;
  readonly sysS: number;
  /** user + sys. */
  readonly cpuS: number;
  /** Peak resident set of the prover process (GNU time %M). */
  readonly maxRssMiB: number;
  /** modex-prover's MODEX_PROVER_STATS line (native only): threads, signals, domain, abcMs, fftMs, msmMs, totalMs. */
  readonly stats: Record<string, number> | null;
}

export interface AbBackendResult {
  readonly backend: AbBackend;
  readonly command: string;
  readonly runs: readonly AbRun[];
  readonly meanWallS: number;
  readonly minWallS: number;
  readonly meanCpuS: number;
  /** mean cpu / mean wall: the cores it kept busy. */
  readonly cpuPerWall: number;
  /** Highest peak RSS over the runs. */
  readonly maxRssMiB: number;
}

export interface SideBySideResult {
  readonly config: string;
  readonly params: string;
  readonly constraints: number;
  readonly zkeyMiB: number;
  readonly wtnsMiB: number;
  /** snarkjs.wtns.calculate of the batch, in the bench process (not part of any backend's figures). */
  readonly witnessS: number;
  /** modex-prover --threads (0: every core). */
  readonly nativeThreads: number;
  readonly rounds: number;
  /** Rounds run before the measured ones (page cache, CPU frequency), not in the figures. */
  readonly warmupRounds: number;
  readonly order: readonly AbBackend[];
  readonly backends: readonly AbBackendResult[];
  /** snarkjs mean wall / native mean wall. */
  readonly speedup: number;
  /** snarkjs min wall / native min wall. */
  readonly speedupMin: number;
  /** snarkjs CPU / native CPU (mean user + sys). */
  readonly cpuRatio: number;
  /** snarkjs peak RSS / native peak RSS. */
  readonly memoryRatio: number;
  /** With $MODEX_RAPIDSNARK: rapidsnark mean wall / native mean wall (> 1: native faster) and rapidsnark peak RSS / native. */
  readonly vsRapidsnark: { readonly wallRatio: number; readonly memoryRatio: number } | null;
  /** Every proof passed snarkjs.groth16.verify with the batch's public input. */
  readonly proofsVerified: number;
  readonly cores: number;
  /** 1-minute load average before and after: well above the cores means other work shared them. */
  readonly loadAvg1: readonly [number, number];
}

const round = (x: number, digits = 2): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};
const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const load1 = (): number => round(os.loadavg()[0], 2);
const REPO = path.resolve(__dirname, "..");
/** A path inside the repository relative to it, anything else as it is. */
const shortPath = (a: string): string => {
  const r = path.relative(REPO, a);
  return path.isAbsolute(a) && r && !r.startsWith("..") ? r : a;
};

/** Runs `argv` under `/usr/bin/time -o FILE -f "%e %U %S %M"`; rejects on a non-zero exit. */
export async function timedProcess(argv: readonly string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; prefix?: readonly string[] } = {}): Promise<{ wallS: number; userS: number; sysS: number; maxRssMiB: number; stderr: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "modex-time-"));
  const timeFile = path.join(dir, "time.txt");
  try {
    const args = [...(opts.prefix ?? []), TIME_BINARY, "-o", timeFile, "-f", "%e %U %S %M", ...argv];
    const stderr = await new Promise<string>((resolve, reject) => {
      const p = spawn(args[0], args.slice(1), { stdio: ["ignore", "ignore", "pipe"], env: opts.env ?? process.env });
      let err = "";
      p.stderr.setEncoding("utf8");
      p.stderr.on("data", (d: string) => (err = (err + d).slice(-20_000)));
      const timer = opts.timeoutMs ? setTimeout(() => p.kill("SIGKILL"), opts.timeoutMs) : null;
      p.once("error", (e) => {
        if (timer) clearTimeout(timer);
        reject(e);
      });
      p.once("exit", (code, signal) => {
        if (timer) clearTimeout(timer);
        if (code === 0) resolve(err);
        else reject(new Error(`${argv.join(" ")} exited with ${code ?? signal}: ${err.trim().slice(-1500)}`));
      });
    });
    // GNU time writes "Command exited with non-zero status N" first when it did; the figures are the last line.
    const line = readFileSync(timeFile, "utf8").trim().split("\n").pop() ?? "";
    const [e, u, s, m] = line.split(/\s+/).map(Number);
    if (![e, u, s, m].every(Number.isFinite)) throw new Error(`cannot read ${TIME_BINARY}'s output: ${JSON.stringify(line)}`);
    return { wallS: e, userS: u, sysS: s, maxRssMiB: Math.round(m / 1024), stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The last line of `stderr` that parses as a JSON object of numbers (modex-prover's stats), or null. */
function statsLine(stderr: string): Record<string, number> | null {
  for (const line of stderr.trim().split("\n").reverse()) {
    try {
      const o: unknown = JSON.parse(line);
      if (o && typeof o === "object" && "totalMs" in o) return o as Record<string, number>;
    } catch {
      // not the stats line
    }
  }
  return null;
}

export interface SideBySideInput {
  readonly config: string;
  readonly params: string;
  readonly constraints: number;
  readonly wasmPath: string;
  readonly zkeyPath: string;
  readonly vkeyPath: string;
  readonly circuitInput: unknown;
  readonly publicInput: string;
}

/** Which backends run, as commands that take `<zkey> <wtns> <proof> <public>` after them. */
export function abCommands(nativeThreads: number): { backend: AbBackend; command: string[] }[] {
  const native = nativeProverExecutable();
  if (!native) throw new Error("native/build/Release/modex-prover is not built (npm run build:native)");
  const snarkjsCli = path.join(path.dirname(require.resolve("snarkjs")), "cli.cjs");
  const out: { backend: AbBackend; command: string[] }[] = [
    { backend: "native", command: [native, ...(nativeThreads > 0 ? ["--threads", String(nativeThreads)] : [])] },
    { backend: "snarkjs", command: [process.execPath, snarkjsCli, "groth16", "prove"] },
  ];
  const rapid = process.env.MODEX_RAPIDSNARK;
  if (rapid) {
    if (!existsSync(rapid)) throw new Error(`MODEX_RAPIDSNARK=${rapid}: no such file`);
    out.push({ backend: "rapidsnark", command: [rapid] });
  }
  return out;
}

export async function sideBySide(input: SideBySideInput, opts: { rounds: number; warmupRounds: number; nativeThreads: number; log: LogFn; timeoutMs?: number }): Promise<SideBySideResult> {
  if (!existsSync(TIME_BINARY)) throw new Error(`${TIME_BINARY} (GNU time) is needed for the side-by-side figures (apt-get install time)`);
  const { log } = opts;
  const commands = abCommands(opts.nativeThreads);
  const vkey: unknown = JSON.parse(readFileSync(input.vkeyPath, "utf8"));
  const dir = mkdtempSync(path.join(os.tmpdir(), "modex-ab-"));
  try {
    const wtns = path.join(dir, "witness.wtns");
    const t0 = performance.now();
    await snarkjs.wtns.calculate(input.circuitInput, input.wasmPath, wtns);
    const witnessS = round((performance.now() - t0) / 1000);
    const runs = new Map<AbBackend, AbRun[]>(commands.map((c) => [c.backend, []]));
    let verified = 0;
    const loadBefore = load1();
    log({ msg: "bench.prover.ab.start", config: input.config, constraints: input.constraints, witnessS, order: commands.map((c) => c.backend), rounds: opts.rounds, warmupRounds: opts.warmupRounds, loadAvg1: loadBefore });
    for (let r = -opts.warmupRounds; r < opts.rounds; r++) {
      for (const c of commands) {
        const proofFile = path.join(dir, `${c.backend}-proof.json`);
        const publicFile = path.join(dir, `${c.backend}-public.json`);
        rmSync(proofFile, { force: true });
        rmSync(publicFile, { force: true });
        const t = await timedProcess([...c.command, input.zkeyPath, wtns, proofFile, publicFile], {
          env: { ...process.env, MODEX_PROVER_STATS: "1" },
          timeoutMs: opts.timeoutMs,
        });
        const proof: unknown = JSON.parse(readFileSync(proofFile, "utf8"));
        const publicSignals = JSON.parse(readFileSync(publicFile, "utf8")) as string[];
        const ok = (await snarkjs.groth16.verify(vkey, publicSignals, proof)) as boolean;
        if (!ok) throw new Error(`${input.config}: the ${c.backend} proof (round ${r}) failed snarkjs.groth16.verify`);
        if (publicSignals[0] !== input.publicInput) throw new Error(`${input.config}: the ${c.backend} proof's public signal is not the batch's`);
        verified++;
        const run: AbRun = { round: r, wallS: t.wallS, userS: t.userS, sysS: t.sysS, cpuS: round(t.userS + t.sysS), maxRssMiB: t.maxRssMiB, stats: c.backend === "native" ? statsLine(t.stderr) : null };
        log({ msg: "bench.prover.ab.run", config: input.config, backend: c.backend, warmup: r < 0, ...run, load1: load1() });
        if (r >= 0) (runs.get(c.backend) as AbRun[]).push(run);
      }
    }
    const backends: AbBackendResult[] = commands.map((c) => {
      const rs = runs.get(c.backend) as AbRun[];
      const meanWallS = round(mean(rs.map((x) => x.wallS)));
      const meanCpuS = round(mean(rs.map((x) => x.cpuS)));
      return {
        backend: c.backend,
        command: c.command.map(shortPath).join(" "),
        runs: rs,
        meanWallS,
        minWallS: Math.min(...rs.map((x) => x.wallS)),
        meanCpuS,
        cpuPerWall: round(meanCpuS / meanWallS),
        maxRssMiB: Math.max(...rs.map((x) => x.maxRssMiB)),
      };
    });
    const get = (b: AbBackend): AbBackendResult | undefined => backends.find((x) => x.backend === b);
    const n = get("native") as AbBackendResult;
    const s = get("snarkjs") as AbBackendResult;
    const rs = get("rapidsnark");
    const result: SideBySideResult = {
      config: input.config,
      params: input.params,
      constraints: input.constraints,
      zkeyMiB: Math.round(statSync(input.zkeyPath).size / 2 ** 20),
      wtnsMiB: round(statSync(wtns).size / 2 ** 20, 1),
      witnessS,
      nativeThreads: opts.nativeThreads,
      rounds: opts.rounds,
      warmupRounds: opts.warmupRounds,
      order: commands.map((c) => c.backend),
      backends,
      speedup: round(s.meanWallS / n.meanWallS),
      speedupMin: round(s.minWallS / n.minWallS),
      cpuRatio: round(s.meanCpuS / n.meanCpuS),
      memoryRatio: round(s.maxRssMiB / n.maxRssMiB),
      vsRapidsnark: rs ? { wallRatio: round(rs.meanWallS / n.meanWallS), memoryRatio: round(rs.maxRssMiB / n.maxRssMiB) } : null,
      proofsVerified: verified,
      cores: os.availableParallelism?.() ?? os.cpus().length,
      loadAvg1: [loadBefore, load1()],
    };
    log({ msg: "bench.prover.ab", config: input.config, constraints: input.constraints, speedup: result.speedup, memoryRatio: result.memoryRatio, cpuRatio: result.cpuRatio, native: { wallS: n.meanWallS, cpuS: n.meanCpuS, rssMiB: n.maxRssMiB }, snarkjs: { wallS: s.meanWallS, cpuS: s.meanCpuS, rssMiB: s.maxRssMiB }, loadAvg1: result.loadAvg1 });
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
