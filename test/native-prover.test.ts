/**
 * The native Groth16 prover (native/src: the addon's groth16Prove and the modex-prover executable):
 * its proofs verify under the snarkjs verification key for the tiny fixture circuit and a full batch of
 * the test config, the prover pool runs it, malformed or mismatched keys and witnesses are errors with
 * a clear message (never a crash), and MODEX_NATIVE=off falls back to snarkjs.
 *
 * The native tests need `node scripts/build-native.js` (npm ci runs it): without the build they fail,
 * saying so, unless MODEX_NATIVE=off is set, which skips them and keeps the fallback tests.
 */
import { spawn } from "node:child_process";
import { promises as fsp, readFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { poseidon2 } from "poseidon-lite";
import { tinyJob, TINY_CIRCUIT_SOURCE } from "./helpers/tiny";
import { testCircuitKeys } from "./helpers/keys";
import { Rng } from "./helpers/rng";
import {
  BN254_R, cloneBinFile, fieldBytes, parseBinFile, section, sectionOffset, serializeBinFile, type BinFile,
  ZKEY_COEF_SIZE, ZKEY_DOMAIN_SIZE, ZKEY_N_PUBLIC, ZKEY_N_VARS,
} from "./helpers/binfile";
import { fullBatch } from "../bench/prover";
import { CONFIGS, initCrypto } from "../core";
import { nativeAddon, nativeProverExecutable, nativeStatus, type NativeAddon } from "../core/native";
import { compileCircuit, type CompiledCircuit } from "../circuits/compile";
import { ensureKeys, releaseSnarkjsCurve } from "../prover/keys";
import { createProverPool, ProverError, type ProverPool, type ProverPoolOptions } from "../prover/pool";
import { threadsPerWorker } from "../prover/backend";
import { parseBackend } from "../prover/select";
import { createProofVerifier, isGroth16Proof, type ProofVerifier } from "../prover/verify";
import type { CircuitArtifacts, ProofJob } from "../prover/types";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const snarkjs = require("snarkjs");

const REPO = path.join(__dirname, "..");
const quiet = (): void => undefined;

const NATIVE_OFF = (process.env.MODEX_NATIVE ?? "").toLowerCase() === "off";
/** Why the native tests cannot run here (null: they can). */
function nativeMissing(): string | null {
  if (!nativeAddon()) return `the native addon is not available (${nativeStatus().reason ?? "unknown reason"})`;
  if (!nativeProverExecutable()) return "native/build/Release/modex-prover is not built";
  return null;
}
const BUILD_HINT = "build it with `node scripts/build-native.js` (npm ci does), or set MODEX_NATIVE=off to run only the snarkjs fallback tests";

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a program to completion (SIGKILL after `timeoutMs`), collecting its output. */
function run(file: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env, timeoutMs = 60_000): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: REPO, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", (e) => {
      clearTimeout(t);
      reject(e);
    });
    child.once("close", (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A TypeScript snippet in a fresh Node process (tsx), with `env` added to this process' environment. */
function runTs(script: string, env: NodeJS.ProcessEnv): Promise<Exit> {
  return run(process.execPath, ["--require", require.resolve("tsx/cjs"), "-e", script], { ...process.env, ...env });
}

const src = (rel: string): string => JSON.stringify(path.join(REPO, rel));

async function witnessOf(wasmPath: string, input: object): Promise<Uint8Array> {
  const w: { type: "mem"; data?: Uint8Array } = { type: "mem" };
  await snarkjs.wtns.calculate(input, wasmPath, w);
  return w.data as Uint8Array;
}

/** Witness values 1..n (the public signals: outputs, then public inputs) as decimal strings. */
function publicValues(wtns: Uint8Array, n: number): string[] {
  const values = section(parseBinFile(wtns), 2).data;
  const out: string[] = [];
  for (let i = 1; i <= n; i++) {
    let v = 0n;
    for (let b = 31; b >= 0; b--) v = (v << 8n) | BigInt(values[32 * i + b]);
    out.push(v.toString());
  }
  return out;
}

/** The message of a rejection: the addon's errors come from Node's own realm, not jest's (so no instanceof Error). */
function messageOf(e: unknown): unknown {
  return typeof e === "object" && e !== null && typeof (e as { message?: unknown }).message === "string" ? (e as { message: string }).message : e;
}

const mod = (v: bigint): bigint => ((v % BN254_R) + BN254_R) % BN254_R;

/** A tiny-circuit input (any field elements) with the public signals it must give: [Poseidon(a, b), a·b]. */
function tinyCase(a: bigint, b: bigint): { input: { a: string; b: string; c: string }; publicSignals: string[] } {
  const c = mod(a * b);
  return { input: { a: a.toString(), b: b.toString(), c: c.toString() }, publicSignals: [poseidon2([a, b]).toString(), c.toString()] };
}

interface Malformed {
  readonly name: string;
  readonly bytes: Uint8Array;
  /** The whole error message, as the addon rejects with it and the executable prints it after "modex-prover: ". */
  readonly message: RegExp;
}

const describeNative = NATIVE_OFF ? describe.skip : describe;

test("the native prover is built, or MODEX_NATIVE=off says to test without it", () => {
  if (NATIVE_OFF) return;
  const missing = nativeMissing();
  if (missing) throw new Error(`${missing}: ${BUILD_HINT}`);
  expect(nativeAddon()?.proverInfo().defaultThreads).toBeGreaterThanOrEqual(1);
});

describeNative("native Groth16 prover", () => {
  let addon: NativeAddon;
  let exe: string;
  let tmp: string;
  let tiny: CompiledCircuit;
  let tinyArtifacts: CircuitArtifacts;
  let tinyVkey: object;
  let tinyVerifier: ProofVerifier;
  /** The tiny key and a witness of it, parsed and raw. */
  let tinyZkey: Buffer;
  let tinyWtns: Uint8Array;
  let testArtifacts: CircuitArtifacts;
  let testVkey: object;
  let batchJob: ProofJob;
  let batchWtns: Uint8Array;
  const pools: ProverPool[] = [];

  function pool(opts: Partial<ProverPoolOptions>): ProverPool {
    const p = createProverPool({ artifacts: tinyArtifacts, size: 1, log: quiet, ...opts });
    pools.push(p);
    return p;
  }

  const file = async (name: string, bytes: Uint8Array): Promise<string> => {
    const p = path.join(tmp, name);
    await fsp.writeFile(p, bytes);
    return p;
  };

  beforeAll(async () => {
    const missing = nativeMissing();
    if (missing) throw new Error(`${missing}: ${BUILD_HINT}`);
    addon = nativeAddon() as NativeAddon;
    exe = nativeProverExecutable() as string;
    tmp = await fsp.mkdtemp(path.join(os.tmpdir(), "modex-native-prover-test-"));
    await initCrypto();
    tiny = await compileCircuit({ name: "tiny", mainSource: TINY_CIRCUIT_SOURCE, log: quiet });
    const keys = await ensureKeys(tiny, { log: quiet });
    tinyArtifacts = { circuitHash: tiny.circuitHash, wasmPath: tiny.wasmPath, zkeyPath: keys.zkeyPath, vkeyPath: keys.vkeyPath };
    tinyVkey = keys.vkey;
    tinyVerifier = await createProofVerifier(keys.vkeyPath);
    tinyZkey = readFileSync(keys.zkeyPath);
    tinyWtns = await witnessOf(tiny.wasmPath, tinyCase(3n, 5n).input);

    const t = await testCircuitKeys();
    testArtifacts = t.artifacts;
    testVkey = t.keys.vkey;
    const batch = fullBatch(CONFIGS.test);
    batchJob = { batchNumber: 7, circuitInput: batch.circuitInput, publicSignals: batch.publicSignals.map(String) };
    batchWtns = await witnessOf(t.circuit.wasmPath, batch.circuitInput);
  });

  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.close()));
  });

  afterAll(async () => {
    await releaseSnarkjsCurve();
    if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
  });

  // ---- 1. Proofs verify --------------------------------------------------------------------------

  test("addon: tiny-circuit proofs of several witnesses, on 0, 1, 2 and 7 threads, verify; public signals are the witness' public values", async () => {
    const cases = [tinyCase(3n, 5n), tinyCase(0n, 7n), tinyCase(1n, 1n), tinyCase(2n ** 200n + 12345n, 3n), tinyCase(BN254_R - 1n, BN254_R - 2n)];
    const threads = [0, 1, 2, 7, 1];
    for (const [i, c] of cases.entries()) {
      const wtns = await witnessOf(tiny.wasmPath, c.input);
      const text = await addon.groth16Prove(tinyArtifacts.zkeyPath, wtns, threads[i]);
      const proof: unknown = JSON.parse(text.proof);
      const publicSignals = JSON.parse(text.publicSignals) as string[];
      expect(publicSignals).toEqual(c.publicSignals);
      expect(publicSignals).toEqual(publicValues(wtns, 2));
      expect(isGroth16Proof(proof)).toBe(true);
      expect(await snarkjs.groth16.verify(tinyVkey, publicSignals, proof)).toBe(true);
      expect(await tinyVerifier.check(proof, publicSignals, c.publicSignals)).toBeNull();
      // Not a proof of other public values.
      expect(await snarkjs.groth16.verify(tinyVkey, [publicSignals[0], "16"], proof)).toBe(false);
    }

    // Proofs are blinded (random r, s): the same witness twice gives two different proofs, both valid.
    const [a, b] = await Promise.all([addon.groth16Prove(tinyArtifacts.zkeyPath, tinyWtns, 1), addon.groth16Prove(tinyArtifacts.zkeyPath, tinyWtns, 1)]);
    expect(a.proof).not.toBe(b.proof);
    expect(a.publicSignals).toBe(b.publicSignals);
    for (const t of [a, b]) expect(await snarkjs.groth16.verify(tinyVkey, JSON.parse(t.publicSignals), JSON.parse(t.proof))).toBe(true);

    // A witness that is a view into a larger buffer, at an odd offset, is read from its own bytes.
    const backing = new Uint8Array(tinyWtns.length + 13).fill(0xab);
    backing.set(tinyWtns, 5);
    const view = backing.subarray(5, 5 + tinyWtns.length);
    const v = await addon.groth16Prove(tinyArtifacts.zkeyPath, view, 0);
    expect(await snarkjs.groth16.verify(tinyVkey, JSON.parse(v.publicSignals), JSON.parse(v.proof))).toBe(true);
  });

  test("addon: a full batch of the test config proves; the proof verifies and its public signals are the job's", async () => {
    const text = await addon.groth16Prove(testArtifacts.zkeyPath, batchWtns, 0);
    const proof: unknown = JSON.parse(text.proof);
    const publicSignals = JSON.parse(text.publicSignals) as string[];
    expect(publicSignals).toEqual([...batchJob.publicSignals]);
    expect(publicSignals).toEqual(publicValues(batchWtns, 5));
    expect(await snarkjs.groth16.verify(testVkey, publicSignals, proof)).toBe(true);
    const verifier = await createProofVerifier(testArtifacts.vkeyPath);
    expect(await verifier.check(proof, publicSignals, batchJob.publicSignals)).toBeNull();
  });

  test("modex-prover executable: tiny-circuit proofs (default and --threads 1) verify; usage errors exit 2", async () => {
    const cases = [tinyCase(3n, 5n), tinyCase(11n, 13n), tinyCase(BN254_R - 1n, 2n)];
    for (const [i, c] of cases.entries()) {
      const wtnsPath = await file(`exe-${i}.wtns`, await witnessOf(tiny.wasmPath, c.input));
      const proofPath = path.join(tmp, `exe-${i}-proof.json`);
      const publicPath = path.join(tmp, `exe-${i}-public.json`);
      const r = await run(exe, [...(i === 1 ? ["--threads", "1"] : []), tinyArtifacts.zkeyPath, wtnsPath, proofPath, publicPath]);
      expect(r).toMatchObject({ code: 0, stderr: "" });
      const proof: unknown = JSON.parse(readFileSync(proofPath, "utf8"));
      const publicSignals = JSON.parse(readFileSync(publicPath, "utf8")) as string[];
      expect(publicSignals).toEqual(c.publicSignals);
      expect(await snarkjs.groth16.verify(tinyVkey, publicSignals, proof)).toBe(true);
      expect(await tinyVerifier.check(proof, publicSignals, c.publicSignals)).toBeNull();
    }
    const wtnsPath = path.join(tmp, "exe-0.wtns");
    for (const args of [[], [tinyArtifacts.zkeyPath, wtnsPath, "p.json"], ["--threads", "x", tinyArtifacts.zkeyPath, wtnsPath, "p.json", "q.json"], ["--threads", "-1", tinyArtifacts.zkeyPath, wtnsPath, "p.json", "q.json"]]) {
      const r = await run(exe, args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^usage: modex-prover \[--threads N\] <circuit\.zkey> <witness\.wtns> <proof\.json> <public\.json>\n$/);
    }
  });

  test("command backend [modex-prover]: tiny jobs and a full test-config batch prove through the pool and verify", async () => {
    const p = pool({ artifacts: testArtifacts, backend: { kind: "command", command: [exe] } });
    const tinyPool = pool({ backend: { kind: "command", command: [exe, "--threads", "1"] } });
    const jobs = [tinyJob(1, 3, 5), tinyJob(2, 6, 7)];
    const tinyResults = await Promise.all(jobs.map((j) => tinyPool.prove(j)));
    for (const [i, r] of tinyResults.entries()) {
      expect(r.publicSignals[0]).toBe(jobs[i].publicSignals[0]);
      expect(await snarkjs.groth16.verify(tinyVkey, r.publicSignals, r.proof)).toBe(true);
    }
    expect((await tinyPool.status()).backend).toBe(`command:${exe} --threads 1`);

    const r = await p.prove(batchJob);
    expect(r.batchNumber).toBe(batchJob.batchNumber);
    expect(r.publicSignals).toEqual([...batchJob.publicSignals]);
    expect(await snarkjs.groth16.verify(testVkey, r.publicSignals, r.proof)).toBe(true);
    const verifier = await createProofVerifier(testArtifacts.vkeyPath);
    expect(await verifier.check(r.proof, r.publicSignals, batchJob.publicSignals)).toBeNull();
  });

  // ---- 2. The pool with the native backend -------------------------------------------------------

  test("pool with {native, threads 0} and {native, threads 1}: jobs resolve with verified proofs; an unsatisfied input fails with code witness", async () => {
    for (const threads of [0, 1]) {
      const p = pool({ backend: { kind: "native", threads } });
      const jobs = [tinyJob(10, 3, 5), tinyJob(11, 9, 9), tinyJob(12, 0, 4)];
      const results = await Promise.all(jobs.map((j) => p.prove(j)));
      for (const [i, r] of results.entries()) {
        expect(r.batchNumber).toBe(jobs[i].batchNumber);
        expect(r.publicSignals).toEqual([...jobs[i].publicSignals]);
        expect(await snarkjs.groth16.verify(tinyVkey, r.publicSignals, r.proof)).toBe(true);
        expect(await tinyVerifier.check(r.proof, r.publicSignals, jobs[i].publicSignals)).toBeNull();
        for (const ms of Object.values(r.timings)) expect(ms).toBeGreaterThan(0);
      }
      const err = await p.prove(tinyJob(13, 3, 5, 16)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProverError);
      expect(err).toMatchObject({ code: "witness", batchNumber: 13, attempts: 1, message: expect.stringMatching(/^batch 13: witness calculation failed.*Assert Failed/) });
      await expect(p.prove({ ...tinyJob(14, 3, 5), publicSignals: ["12345", "15"] })).rejects.toMatchObject({ code: "public_input" });
      const st = await p.status();
      expect(st.backend).toBe(threads === 0 ? "native" : "native:1t");
      expect(st.workers).toEqual([expect.objectContaining({ backend: st.backend, state: "idle", jobsDone: 3, jobsFailed: 2 })]);
    }

    // Two workers asked for every core share the cores out.
    const cpus = os.availableParallelism?.() ?? os.cpus().length;
    const two = pool({ size: 2, backend: { kind: "native", threads: 0 } });
    expect((await two.status()).backend).toBe(`native:${threadsPerWorker(cpus, 2)}t`);
    expect(() => createProverPool({ artifacts: tinyArtifacts, backend: { kind: "native", threads: -1 }, log: quiet })).toThrow(/native prover threads must be a non-negative integer, got -1/);
    expect(() => createProverPool({ artifacts: tinyArtifacts, backend: { kind: "native", threads: 1.5 }, log: quiet })).toThrow(/non-negative integer, got 1\.5/);
  });

  // ---- 3. Malformed inputs -----------------------------------------------------------------------

  /** Damaged and mismatched proving keys, from the tiny key. */
  function malformedZkeys(): Malformed[] {
    const z = tinyZkey;
    const f = parseBinFile(z);
    const nVars = section(f, 2).data.readUInt32LE(ZKEY_N_VARS);
    const domain = section(f, 2).data.readUInt32LE(ZKEY_DOMAIN_SIZE);
    const nCoefs = section(f, 4).data.readUInt32LE(0);
    const s2 = sectionOffset(z, 2);
    const s5 = sectionOffset(z, 5);
    const s9 = sectionOffset(z, 9);
    const s10 = sectionOffset(z, 10);
    const patched = (edit: (g: BinFile) => void): Buffer => {
      const g = cloneBinFile(f);
      edit(g);
      return serializeBinFile(g);
    };
    const coef = (g: BinFile, i: number, field: 0 | 1 | 2, v: number): void => {
      section(g, 4).data.writeUInt32LE(v, 4 + i * ZKEY_COEF_SIZE + 4 * field);
    };
    return [
      { name: "empty file", bytes: new Uint8Array(0), message: /^zkey: .*\.zkey is empty$/ },
      { name: "cut inside the file header", bytes: z.subarray(0, 8), message: /^zkey: file too short \(8 bytes\) for a header$/ },
      { name: "cut inside the first section header", bytes: z.subarray(0, 20), message: /^zkey: truncated: section header 1 of 10 is past the end of the file$/ },
      { name: "cut inside the groth16 header section", bytes: z.subarray(0, s2.offset + 100), message: /^zkey: truncated: section 2 claims 660 bytes, 100 remain$/ },
      { name: "cut inside the A points", bytes: z.subarray(0, s5.offset + 1000), message: new RegExp(`^zkey: truncated: section 5 claims ${s5.size} bytes, 1000 remain$`) },
      { name: "cut inside the H points", bytes: z.subarray(0, s9.offset + s9.size - 1), message: new RegExp(`^zkey: truncated: section 9 claims ${s9.size} bytes, ${s9.size - 1} remain$`) },
      { name: "cut before the last section header", bytes: z.subarray(0, s10.offset - 12), message: /^zkey: truncated: section header 10 of 10 is past the end of the file$/ },
      { name: "last byte missing", bytes: z.subarray(0, z.length - 1), message: new RegExp(`^zkey: truncated: section 10 claims ${s10.size} bytes, ${s10.size - 1} remain$`) },
      { name: "wrong magic (a witness file)", bytes: tinyWtns, message: /^zkey: not a zkey file \(magic is not "zkey"\)$/ },
      { name: "wrong magic (one byte changed)", bytes: Buffer.concat([Buffer.from("zkeY"), z.subarray(4)]), message: /^zkey: not a zkey file \(magic is not "zkey"\)$/ },
      { name: "not groth16 (protocol 2)", bytes: patched((g) => section(g, 1).data.writeUInt32LE(2, 0)), message: /^zkey: protocol 2 is not groth16 \(1\)$/ },
      { name: "base field is not BN254's", bytes: patched((g) => (section(g, 2).data[4] ^= 1)), message: /^zkey: base field modulus is not BN254's: only bn128 keys are supported$/ },
      { name: "H points missing", bytes: patched((g) => (g.sections = g.sections.filter((s) => s.type !== 9))), message: /^zkey: missing section 9 \(H points\)$/ },
      { name: "a section twice", bytes: patched((g) => g.sections.push({ type: 9, data: Buffer.from(section(g, 9).data) })), message: /^zkey: section 9 appears twice$/ },
      { name: "A points one short", bytes: patched((g) => (section(g, 5).data = section(g, 5).data.subarray(64))), message: new RegExp(`^zkey: section 5 \\(A points\\) is ${s5.size - 64} bytes, expected ${s5.size}$`) },
      { name: "domain size not a power of two", bytes: patched((g) => section(g, 2).data.writeUInt32LE(domain - 1, ZKEY_DOMAIN_SIZE)), message: new RegExp(`^zkey: domain size ${domain - 1} is not a power of two$`) },
      { name: "more public signals than signals", bytes: patched((g) => section(g, 2).data.writeUInt32LE(nVars, ZKEY_N_PUBLIC)), message: new RegExp(`^zkey: inconsistent sizes: ${nVars} signals, ${nVars} public$`) },
      { name: "coefficient count disagrees with its section", bytes: patched((g) => section(g, 4).data.writeUInt32LE(nCoefs + 1, 0)), message: new RegExp(`^zkey: coefficient section is ${4 + nCoefs * ZKEY_COEF_SIZE} bytes for ${nCoefs + 1} coefficients$`) },
      { name: "coefficient signal out of range", bytes: patched((g) => coef(g, 0, 2, nVars)), message: new RegExp(`^zkey: coefficient 0 is out of range \\(matrix 0, constraint \\d+, signal ${nVars}\\)$`) },
      { name: "coefficient constraint out of range", bytes: patched((g) => coef(g, nCoefs - 1, 1, domain)), message: new RegExp(`^zkey: coefficient ${nCoefs - 1} is out of range \\(matrix \\d, constraint ${domain}, signal \\d+\\)$`) },
      { name: "coefficient of a third matrix", bytes: patched((g) => coef(g, 7, 0, 2)), message: /^zkey: coefficient 7 is out of range \(matrix 2, constraint \d+, signal \d+\)$/ },
      { name: "signal index 2^32 - 1", bytes: patched((g) => coef(g, 3, 2, 0xffffffff)), message: /^zkey: coefficient 3 is out of range \(matrix \d, constraint \d+, signal 4294967295\)$/ },
    ];
  }

  /** Damaged and mismatched witnesses, from a tiny-circuit witness (for the tiny key). */
  function malformedWitnesses(): Malformed[] {
    const w = Buffer.from(tinyWtns);
    const f = parseBinFile(w);
    const nWitness = section(f, 1).data.readUInt32LE(36);
    const values = sectionOffset(w, 2);
    const patched = (edit: (g: BinFile) => void): Buffer => {
      const g = cloneBinFile(f);
      edit(g);
      return serializeBinFile(g);
    };
    const setValue = (i: number, v: Buffer) => patched((g) => v.copy(section(g, 2).data, 32 * i));
    const rng = new Rng(20260107);
    const garbage = Buffer.from(Array.from({ length: 4096 }, () => rng.int(256)));
    return [
      { name: "cut inside the file header", bytes: w.subarray(0, 11), message: /^wtns: file too short \(11 bytes\) for a header$/ },
      { name: "cut inside the values", bytes: w.subarray(0, values.offset + 100), message: new RegExp(`^wtns: truncated: section 2 claims ${values.size} bytes, 100 remain$`) },
      { name: "garbage", bytes: garbage, message: /^wtns: not a wtns file \(magic is not "wtns"\)$/ },
      { name: "garbage after the magic", bytes: Buffer.concat([Buffer.from("wtns"), garbage]), message: /^wtns: truncated: section \d+ claims \d+ bytes, 4076 remain$/ },
      { name: "a proving key as the witness", bytes: tinyZkey, message: /^wtns: not a wtns file \(magic is not "wtns"\)$/ },
      { name: "a witness of another circuit (the test config's batch)", bytes: batchWtns, message: new RegExp(`^wtns: the witness has \\d+ values but the proving key's circuit has ${nWitness} signals \\(a witness for another circuit\\?\\)$`) },
      { name: "a value equal to r", bytes: setValue(3, fieldBytes(BN254_R)), message: /^wtns: value 3 is not below the field modulus$/ },
      { name: "a value of 2^256 - 1", bytes: setValue(nWitness - 1, Buffer.alloc(32, 0xff)), message: new RegExp(`^wtns: value ${nWitness - 1} is not below the field modulus$`) },
      { name: "signal 0 is not 1", bytes: setValue(0, fieldBytes(2n)), message: /^wtns: signal 0 must be 1$/ },
      { name: "another field", bytes: patched((g) => (section(g, 1).data[4] ^= 1)), message: /^wtns: the witness is not over BN254's scalar field$/ },
      { name: "values section one short", bytes: patched((g) => (section(g, 2).data = section(g, 2).data.subarray(32))), message: new RegExp(`^wtns: values section is ${values.size - 32} bytes, expected ${values.size}$`) },
      { name: "values missing", bytes: patched((g) => (g.sections = g.sections.filter((s) => s.type !== 2))), message: /^wtns: missing section 2 \(values\)$/ },
    ];
  }

  test("addon: malformed, truncated or mismatched proving keys reject with a zkey: message; the addon keeps proving", async () => {
    const cases = malformedZkeys();
    for (const [i, c] of cases.entries()) {
      const zkeyPath = await file(`bad-${i}.zkey`, c.bytes);
      const err = await addon.groth16Prove(zkeyPath, tinyWtns, 1).then(() => null, (e: unknown) => e);
      expect({ case: c.name, error: messageOf(err) }).toEqual({ case: c.name, error: expect.stringMatching(c.message) });
    }
    await expect(addon.groth16Prove(path.join(tmp, "missing.zkey"), tinyWtns, 0)).rejects.toThrow(/^zkey: cannot open .*missing\.zkey: No such file or directory$/);
    await expect(addon.groth16Prove(tmp, tinyWtns, 0)).rejects.toThrow(/^zkey: cannot map /);
    // The test config's key with the tiny witness: a witness for another circuit.
    await expect(addon.groth16Prove(testArtifacts.zkeyPath, tinyWtns, 0)).rejects.toThrow(/^wtns: the witness has \d+ values but the proving key's circuit has \d+ signals \(a witness for another circuit\?\)$/);
    const ok = await addon.groth16Prove(tinyArtifacts.zkeyPath, tinyWtns, 0);
    expect(await snarkjs.groth16.verify(tinyVkey, JSON.parse(ok.publicSignals), JSON.parse(ok.proof))).toBe(true);
  });

  test("addon: malformed, truncated or mismatched witnesses reject with a wtns: message; bad arguments throw", async () => {
    for (const c of [...malformedWitnesses(), { name: "empty", bytes: new Uint8Array(0), message: /^wtns: file too short \(0 bytes\) for a header$/ }]) {
      const err = await addon.groth16Prove(tinyArtifacts.zkeyPath, c.bytes, 1).then(() => null, (e: unknown) => e);
      expect({ case: c.name, error: messageOf(err) }).toEqual({ case: c.name, error: expect.stringMatching(c.message) });
    }
    const prove = addon.groth16Prove as unknown as (...args: unknown[]) => Promise<unknown>;
    expect(() => prove(tinyArtifacts.zkeyPath, tinyWtns)).toThrow(/3 arguments expected/);
    expect(() => prove(42, tinyWtns, 0)).toThrow(/zkeyPath must be a string/);
    expect(() => prove(tinyArtifacts.zkeyPath, Array.from(tinyWtns), 0)).toThrow(/wtns must be a Uint8Array/);
    expect(() => prove(tinyArtifacts.zkeyPath, new Uint16Array(8), 0)).toThrow(/wtns must be a Uint8Array/);
    expect(() => prove(tinyArtifacts.zkeyPath, tinyWtns, "2")).toThrow(/threads must be an integer from 0 \(every core\) to 4096/);
    expect(() => prove(tinyArtifacts.zkeyPath, tinyWtns, -1)).toThrow(/threads must be an integer from 0 \(every core\) to 4096/);
    expect(() => prove(tinyArtifacts.zkeyPath, tinyWtns, 1.5)).toThrow(/threads must be an integer/);
    const ok = await addon.groth16Prove(tinyArtifacts.zkeyPath, tinyWtns, 1);
    expect(await snarkjs.groth16.verify(tinyVkey, JSON.parse(ok.publicSignals), JSON.parse(ok.proof))).toBe(true);
  });

  test("modex-prover executable: the same malformed inputs exit 1 with one stderr line naming what is wrong, and write no proof", async () => {
    const tinyWtnsPath = await file("good.wtns", tinyWtns);
    const runs: { name: string; args: string[]; message: RegExp }[] = [];
    for (const [i, c] of malformedZkeys().entries()) runs.push({ name: `zkey ${c.name}`, args: [await file(`exe-bad-${i}.zkey`, c.bytes), tinyWtnsPath], message: c.message });
    const wtnsCases = [...malformedWitnesses(), { name: "empty", bytes: new Uint8Array(0), message: /^wtns: .*\.wtns is empty$/ }];
    for (const [i, c] of wtnsCases.entries()) runs.push({ name: `wtns ${c.name}`, args: [tinyArtifacts.zkeyPath, await file(`exe-bad-${i}.wtns`, c.bytes)], message: c.message });
    runs.push({ name: "zkey missing", args: [path.join(tmp, "missing.zkey"), tinyWtnsPath], message: /^zkey: cannot open .*missing\.zkey: No such file or directory$/ });
    runs.push({ name: "wtns missing", args: [tinyArtifacts.zkeyPath, path.join(tmp, "missing.wtns")], message: /^wtns: cannot open .*missing\.wtns: No such file or directory$/ });
    runs.push({ name: "the test config's key with a tiny witness", args: [testArtifacts.zkeyPath, tinyWtnsPath], message: /^wtns: the witness has \d+ values but the proving key's circuit has \d+ signals \(a witness for another circuit\?\)$/ });

    const results = await Promise.all(
      runs.map(async (r, i) => {
        const out = [path.join(tmp, `exe-out-${i}-proof.json`), path.join(tmp, `exe-out-${i}-public.json`)];
        const res = await run(exe, ["--threads", "1", ...r.args, ...out]);
        const wrote = (await Promise.all(out.map((p) => fsp.access(p).then(() => true, () => false)))).some(Boolean);
        return { case: r.name, code: res.code, signal: res.signal, stderr: res.stderr, stdout: res.stdout, wrote };
      }),
    );
    for (const [i, r] of results.entries()) {
      const line = new RegExp(`^modex-prover: ${runs[i].message.source.replace(/^\^/, "").replace(/\$$/, "")}\\n$`);
      expect(r).toEqual({ case: runs[i].name, code: 1, signal: null, stderr: expect.stringMatching(line), stdout: "", wrote: false });
    }
  });

  // Found by this suite: `nPublic + 1 > nVars` once wrapped around in uint32 for nPublic = 2^32 - 1, so a key
  // saying so (with a C section of nVars points, as the same wrapped arithmetic expected) passed the checks
  // and the prover read past the witness (SIGSEGV). groth16.cpp now compares in 64 bits.
  test("a key claiming 2^32 - 1 public signals is a zkey: error, not a crash (executable and addon)", async () => {
    const f = parseBinFile(tinyZkey);
    const nVars = section(f, 2).data.readUInt32LE(ZKEY_N_VARS);
    section(f, 2).data.writeUInt32LE(0xffffffff, ZKEY_N_PUBLIC);
    section(f, 8).data = Buffer.alloc(nVars * 64);
    const zkeyPath = await file("npublic-overflow.zkey", serializeBinFile(f));
    const wtnsPath = await file("npublic-overflow.wtns", tinyWtns);
    const r = await run(exe, [zkeyPath, wtnsPath, path.join(tmp, "o-proof.json"), path.join(tmp, "o-public.json")], process.env, 30_000);
    expect({ code: r.code, signal: r.signal }).toEqual({ code: 1, signal: null });
    expect(r.stderr).toMatch(/^modex-prover: zkey: /);
    // The addon in a process of its own: a crash here would take the test runner down.
    const script = `require(${JSON.stringify(path.join(REPO, "native", "build", "Release", "modex_native.node"))}).groth16Prove(${JSON.stringify(zkeyPath)}, require("fs").readFileSync(${JSON.stringify(wtnsPath)}), 1).then(() => console.log("resolved"), (e) => console.log(e.message))`;
    const a = await run(process.execPath, ["-e", script], process.env, 30_000);
    expect({ code: a.code, signal: a.signal }).toEqual({ code: 0, signal: null });
    expect(a.stdout).toMatch(/^zkey: /);
  });

  test("pool: a broken proving key fails the job with code artifacts, a key of another circuit with code artifacts too; the worker serves the next good job", async () => {
    // The pool's proving key is a symlink the test points elsewhere between jobs (the addon maps the key per job).
    const link = path.join(tmp, "swap.zkey");
    let links = 0;
    const pointAt = async (target: string): Promise<void> => {
      const next = `${link}.${++links}`;
      await fsp.symlink(target, next);
      await fsp.rename(next, link);
    };
    const truncated = await file("pool-truncated.zkey", tinyZkey.subarray(0, sectionOffset(tinyZkey, 5).offset + 1000));
    const wrongMagic = await file("pool-magic.zkey", Buffer.concat([Buffer.from("zkeY"), tinyZkey.subarray(4)]));
    const f = parseBinFile(tinyZkey);
    section(f, 4).data.writeUInt32LE(10_000, 4 + 2 * ZKEY_COEF_SIZE + 8);
    const badCoef = await file("pool-coef.zkey", serializeBinFile(f));
    await pointAt(tinyArtifacts.zkeyPath);

    const p = pool({ artifacts: { ...tinyArtifacts, zkeyPath: link }, backend: { kind: "native", threads: 1 } });
    expect((await p.prove(tinyJob(100, 3, 5))).batchNumber).toBe(100);
    const pid = p.workers()[0].pid;
    const expectations: [string, number, object][] = [
      [truncated, 101, { code: "artifacts", message: expect.stringMatching(/^batch 101: native prover failed: zkey: truncated: section 5 claims \d+ bytes, 1000 remain \(proving key .*swap\.zkey\)$/) }],
      [wrongMagic, 102, { code: "artifacts", message: expect.stringMatching(/^batch 102: native prover failed: zkey: not a zkey file/) }],
      [badCoef, 103, { code: "artifacts", message: expect.stringMatching(/^batch 103: native prover failed: zkey: coefficient 2 is out of range \(matrix \d, constraint \d+, signal 10000\)/) }],
      [testArtifacts.zkeyPath, 104, { code: "artifacts", message: expect.stringMatching(/^batch 104: native prover failed: wtns: the witness has \d+ values but the proving key's circuit has \d+ signals \(a witness for another circuit\?\)/) }],
    ];
    for (const [target, batch, expected] of expectations) {
      await pointAt(target);
      const err = await p.prove(tinyJob(batch, 3, 5)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProverError);
      expect(err).toMatchObject({ ...expected, batchNumber: batch, attempts: 1 });
      await pointAt(tinyArtifacts.zkeyPath);
      const r = await p.prove(tinyJob(batch + 100, 2, 9));
      expect(r.worker).toBe(String(pid));
      expect(await snarkjs.groth16.verify(tinyVkey, r.publicSignals, r.proof)).toBe(true);
    }
    expect(await p.status()).toMatchObject({ workers: [{ pid, state: "idle", jobsDone: 5, jobsFailed: 4 }] });

    // The executable behind the command backend: the same key is a prove error carrying its message.
    await pointAt(truncated);
    const c = pool({ artifacts: { ...tinyArtifacts, zkeyPath: link }, backend: { kind: "command", command: [exe] } });
    await expect(c.prove(tinyJob(110, 3, 5))).rejects.toMatchObject({
      code: "prove",
      message: expect.stringMatching(/^batch 110: prover command ".*modex-prover" exited with code 1; output: modex-prover: zkey: truncated: section 5 claims \d+ bytes, 1000 remain$/),
    });
    await pointAt(tinyArtifacts.zkeyPath);
    expect((await c.prove(tinyJob(111, 3, 5))).publicSignals[1]).toBe("15");
  });

  test("parseBackend with the native prover built: --prover-threads N selects it on N threads; bad values are usage errors", () => {
    expect(parseBackend(undefined, undefined, undefined, quiet)).toEqual({ kind: "native", threads: 0 });
    expect(parseBackend(undefined, undefined, "3", quiet)).toEqual({ kind: "native", threads: 3 });
    expect(parseBackend("native", undefined, "0", quiet)).toEqual({ kind: "native", threads: 0 });
    expect(parseBackend("native", undefined, "1024", quiet)).toEqual({ kind: "native", threads: 1024 });
    expect(() => parseBackend("native", "modex-prover", undefined, quiet)).toThrow("--prover-command is only used with --backend command");
  });
});

// ---- 4. Fallback (always run: each child process sets MODEX_NATIVE=off itself) -----------------------

describe("MODEX_NATIVE=off: the snarkjs fallback", () => {
  test("defaultBackend() is snarkjs and says so once, even when asked twice; parseBackend refuses native with the reason; a default pool proves with snarkjs", async () => {
    const tiny = await compileCircuit({ name: "tiny", mainSource: TINY_CIRCUIT_SOURCE, log: quiet });
    const keys = await ensureKeys(tiny, { log: quiet });
    const artifacts: CircuitArtifacts = { circuitHash: tiny.circuitHash, wasmPath: tiny.wasmPath, zkeyPath: keys.zkeyPath, vkeyPath: keys.vkeyPath };
    const job = tinyJob(1, 3, 5);

    // With a log function: every line through it.
    const withLog = `
      const { defaultBackend, FALLBACK_COST } = require(${src("prover/backend.ts")});
      const { parseBackend } = require(${src("prover/select.ts")});
      const { nativeAddon, nativeStatus } = require(${src("core/native.ts")});
      const logs = [];
      const log = (o) => logs.push(o);
      const attempt = (f) => { try { return { value: f() }; } catch (e) { return { error: e.message }; } };
      const out = { addonNull: nativeAddon() === null, status: nativeStatus(), cost: FALLBACK_COST };
      out.first = defaultBackend(log);
      out.second = defaultBackend(log);
      out.logsAfterTwo = logs.slice();
      out.parseDefault = attempt(() => parseBackend(undefined, undefined, undefined, log));
      out.parseNative = attempt(() => parseBackend("native", undefined, undefined, log));
      out.parseNativeThreads = attempt(() => parseBackend("native", undefined, "2", log));
      out.parseDefaultThreads = attempt(() => parseBackend(undefined, undefined, "2", log));
      out.parseSnarkjs = attempt(() => parseBackend("snarkjs", undefined, undefined, log));
      out.logCount = logs.length;
      process.stdout.write(JSON.stringify(out));
    `;
    // Without one: the line goes to stderr, once; a pool with no backend named proves with snarkjs, a native one cannot start.
    const withoutLog = `
      (async () => {
        const { defaultBackend } = require(${src("prover/backend.ts")});
        const { createProverPool } = require(${src("prover/pool.ts")});
        const { createProofVerifier } = require(${src("prover/verify.ts")});
        const { releaseSnarkjsCurve } = require(${src("prover/keys.ts")});
        const artifacts = ${JSON.stringify(artifacts)};
        const job = ${JSON.stringify(job)};
        const backends = [defaultBackend(), defaultBackend()];
        const p = createProverPool({ artifacts, size: 1, log: () => {} });
        const status = await p.status();
        const r = await p.prove(job);
        const check = await (await createProofVerifier(artifacts.vkeyPath)).check(r.proof, r.publicSignals, job.publicSignals);
        await p.close();
        const n = createProverPool({ artifacts, size: 1, maxAttempts: 1, backend: { kind: "native", threads: 0 }, log: () => {} });
        const err = await n.prove(job).then(() => null, (e) => ({ code: e.code, message: e.message }));
        await n.close();
        await releaseSnarkjsCurve();
        process.stdout.write(JSON.stringify({ backends, status: status.backend, publicSignals: r.publicSignals, check, err }));
        process.exit(0);
      })().catch((e) => { console.error(e); process.exit(3); });
    `;
    const [a, b] = await Promise.all([runTs(withLog, { MODEX_NATIVE: "off" }), runTs(withoutLog, { MODEX_NATIVE: "off" })]);

    expect({ code: a.code, stderr: a.stderr }).toEqual({ code: 0, stderr: "" });
    const o = JSON.parse(a.stdout);
    const reason = "disabled by MODEX_NATIVE=off";
    expect(o).toMatchObject({ addonNull: true, status: { available: false, reason }, first: { kind: "snarkjs" }, second: { kind: "snarkjs" } });
    expect(o.logsAfterTwo).toEqual([{ msg: "prover.backend.fallback", level: "warn", backend: "snarkjs", reason, cost: o.cost, fix: expect.stringContaining("npm run build:native") }]);
    expect(o.cost).toMatch(/snarkjs proves about \d+x slower/);
    expect(o.parseDefault).toEqual({ value: { kind: "snarkjs" } });
    expect(o.parseNative).toEqual({ error: `--backend native: the native prover is not available: ${reason}` });
    expect(o.parseNativeThreads).toEqual({ error: `--backend native: the native prover is not available: ${reason}` });
    expect(o.parseDefaultThreads).toEqual({ error: expect.stringMatching(/^--prover-threads needs the native prover/) });
    expect(o.parseSnarkjs).toEqual({ value: { kind: "snarkjs" } });
    // Still the one line: later calls stay silent.
    expect(o.logCount).toBe(1);

    expect(b.code).toBe(0);
    const fallbackLines = b.stderr.split("\n").filter((l) => l.includes("prover.backend.fallback"));
    expect(fallbackLines).toHaveLength(1);
    expect(JSON.parse(fallbackLines[0])).toMatchObject({ msg: "prover.backend.fallback", level: "warn", backend: "snarkjs", reason });
    const p = JSON.parse(b.stdout);
    expect(p).toMatchObject({ backends: [{ kind: "snarkjs" }, { kind: "snarkjs" }], status: "snarkjs", publicSignals: [...job.publicSignals], check: null });
    expect(p.err).toEqual({ code: "workers_cannot_start", message: expect.stringMatching(/^batch 1: prover workers cannot start: the native prover is not available: disabled by MODEX_NATIVE=off/) });
  });

  test("parseBackend: --prover-threads must be an integer from 0 to 1024 and only goes with the native prover", () => {
    for (const bad of ["-1", "1025", "1.5", "x", "", " 2", "0x10"]) {
      expect(() => parseBackend("native", undefined, bad, quiet)).toThrow(`--prover-threads must be an integer from 0 (every core) to 1024, got ${JSON.stringify(bad)}`);
      expect(() => parseBackend(undefined, undefined, bad, quiet)).toThrow(/^--prover-threads must be an integer/);
    }
    expect(() => parseBackend("snarkjs", undefined, "2", quiet)).toThrow("--prover-threads is only used with --backend native");
    expect(() => parseBackend("command", "modex-prover", "2", quiet)).toThrow("--prover-threads is only used with --backend native");
    expect(() => parseBackend("gpu", undefined, undefined, quiet)).toThrow('--backend must be native, snarkjs or command, got "gpu"');
    expect(parseBackend("snarkjs", undefined, undefined, quiet)).toEqual({ kind: "snarkjs" });
    expect(parseBackend("command", " modex-prover  --threads 2 ", undefined, quiet)).toEqual({ kind: "command", command: ["modex-prover", "--threads", "2"] });
  });
});
