/**
 * Circuit build + trusted setup pipeline: compiles a tiny fixture circuit, runs the fast
 * development setup and the powers-of-tau setup, and checks that snarkjs proves and
 * verifies with the resulting keys.
 */
import { promises as fsp, readFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { compileCircuit, CompiledCircuit, computeCircuitHash, readR1csInfo } from "../circuits/compile";
import { domainPower } from "../prover/devzkey_qap";
import { ensureKeys, Keys, loadKeys, releaseSnarkjsCurve } from "../prover/keys";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const snarkjs = require("snarkjs");

const FIXTURE = readFileSync(path.join(__dirname, "fixtures", "tiny.circom"), "utf8");
const quiet = (): void => undefined;

interface Proof {
  proof: { pi_a: string[]; pi_b: string[][]; pi_c: string[] };
  publicSignals: string[];
}

async function prove(c: CompiledCircuit, keys: Keys, input: Record<string, number>): Promise<Proof> {
  return snarkjs.groth16.fullProve(input, c.wasmPath, keys.zkeyPath);
}

describe("circuit build and trusted setup", () => {
  let circuit: CompiledCircuit;
  let keysRoot: string;
  let devKeys: Keys;

  beforeAll(async () => {
    keysRoot = await fsp.mkdtemp(path.join(os.tmpdir(), "modex-keys-test-"));
    circuit = await compileCircuit({ name: "setup-fixture", mainSource: FIXTURE, log: quiet });
  });

  afterAll(async () => {
    await releaseSnarkjsCurve();
    if (keysRoot) await fsp.rm(keysRoot, { recursive: true, force: true });
  });

  test("compileCircuit builds r1cs/wasm/sym and caches by hash", async () => {
    expect(circuit.circuitHash).toMatch(/^[0-9a-f]{64}$/);
    expect(circuit.nPublic).toBe(2);
    expect(circuit.constraints).toBeGreaterThan(200);
    expect(circuit.constraints).toBeLessThan(400);
    const info = await readR1csInfo(circuit.r1csPath);
    expect(info.nConstraints).toBe(circuit.constraints);
    expect(info.nOutputs + info.nPubInputs).toBe(2);
    const again = await compileCircuit({ name: "setup-fixture", mainSource: FIXTURE, log: quiet });
    expect(again).toEqual(circuit);
    expect(await computeCircuitHash(FIXTURE + "\n")).not.toBe(circuit.circuitHash);
  });

  test("compileCircuit reports circom errors", async () => {
    await expect(
      compileCircuit({ name: "broken", mainSource: "pragma circom 2.0.0;\ncomponent main = Missing();\n", log: quiet }),
    ).rejects.toThrow(/circom2 failed/);
  });

  test("domain size follows snarkjs newZKey", () => {
    // 2^(floor(log2(nConstraints + nPublic)) + 1)
    expect(domainPower(241, 2)).toBe(8);
    expect(domainPower(254, 2)).toBe(9);
    expect(domainPower(255, 2)).toBe(9);
    expect(domainPower(120_000, 3)).toBe(17);
    expect(domainPower(200_000, 3)).toBe(18);
  });

  test("development setup: keys prove and verify with snarkjs", async () => {
    const logs: object[] = [];
    devKeys = await ensureKeys(circuit, { keysRoot, log: (o) => logs.push(o) });
    expect(devKeys.manifest.source).toBe("dev");
    expect(devKeys.manifest.insecure).toBe(true);
    expect(devKeys.manifest.circuitHash).toBe(circuit.circuitHash);
    expect(devKeys.manifest.ptauSha256).toBeNull();
    expect(devKeys.dir).toBe(path.join(keysRoot, circuit.circuitHash));
    expect(logs.some((l) => (l as { msg?: string }).msg === "setup.done")).toBe(true);

    // The stored verification key is what snarkjs reads from the zkey.
    const vkey = await snarkjs.zKey.exportVerificationKey(devKeys.zkeyPath);
    expect(vkey).toEqual(devKeys.vkey);
    expect(vkey.nPublic).toBe(2);
    expect(readFileSync(devKeys.verifierPath, "utf8")).toMatch(/contract Groth16Verifier/);

    const { proof, publicSignals } = await prove(circuit, devKeys, { a: 3, b: 5, c: 15 });
    expect(publicSignals[1]).toBe("15");
    expect(await snarkjs.groth16.verify(devKeys.vkey, publicSignals, proof)).toBe(true);

    // A wrong public signal, or a tampered proof, must fail.
    expect(await snarkjs.groth16.verify(devKeys.vkey, [publicSignals[0], "16"], proof)).toBe(false);
    expect(await snarkjs.groth16.verify(devKeys.vkey, ["1", publicSignals[1]], proof)).toBe(false);
    const tampered = { ...proof, pi_a: proof.pi_c };
    expect(await snarkjs.groth16.verify(devKeys.vkey, publicSignals, tampered)).toBe(false);

    // A second witness (different public signals) also verifies.
    const p2 = await prove(circuit, devKeys, { a: 7, b: 11, c: 77 });
    expect(await snarkjs.groth16.verify(devKeys.vkey, p2.publicSignals, p2.proof)).toBe(true);
  });

  test("complete key directories are reused", async () => {
    const again = await ensureKeys(circuit, { keysRoot, log: quiet });
    expect(again.manifest).toEqual(devKeys.manifest);
    expect(await loadKeys(circuit, { keysRoot })).not.toBeNull();
    // An incomplete directory (no manifest) is not.
    const other = { ...circuit, circuitHash: "0".repeat(64) };
    await fsp.mkdir(path.join(keysRoot, other.circuitHash), { recursive: true });
    expect(await loadKeys(other, { keysRoot })).toBeNull();
  });

  test("ptau setup: newZKey + contribution replaces dev keys; proofs verify", async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "modex-ptau-test-"));
    try {
      const curve = await snarkjs.curves.getCurveFromName("bn128");
      const p0 = path.join(dir, "pot_0000.ptau");
      const p1 = path.join(dir, "pot_0001.ptau");
      const pFinal = path.join(dir, "pot_final.ptau");
      await snarkjs.powersOfTau.newAccumulator(curve, 8, p0);
      await snarkjs.powersOfTau.contribute(p0, p1, "test", "some entropy for the test ceremony");
      await snarkjs.powersOfTau.preparePhase2(p1, pFinal);

      const keys = await ensureKeys(circuit, { keysRoot, ptau: pFinal, log: quiet });
      expect(keys.manifest.source).toBe("ptau");
      expect(keys.manifest.insecure).toBe(false);
      expect(keys.manifest.ptauSha256).toMatch(/^[0-9a-f]{64}$/);
      expect(keys.vkey).toEqual(await snarkjs.zKey.exportVerificationKey(keys.zkeyPath));

      const { proof, publicSignals } = await prove(circuit, keys, { a: 2, b: 9, c: 18 });
      expect(await snarkjs.groth16.verify(keys.vkey, publicSignals, proof)).toBe(true);
      expect(await snarkjs.groth16.verify(keys.vkey, [publicSignals[0], "19"], proof)).toBe(false);
      // Keys from different setups do not mix.
      expect(await snarkjs.groth16.verify(devKeys.vkey, publicSignals, proof)).toBe(false);

      // Asking again without --ptau keeps the ceremony keys.
      const kept = await ensureKeys(circuit, { keysRoot, log: quiet });
      expect(kept.manifest).toEqual(keys.manifest);

      // A ptau that is too small is a clear error.
      const small0 = path.join(dir, "small_0.ptau");
      const smallFinal = path.join(dir, "small_final.ptau");
      await snarkjs.powersOfTau.newAccumulator(curve, 4, small0);
      await snarkjs.powersOfTau.preparePhase2(small0, smallFinal);
      await expect(ensureKeys(circuit, { keysRoot, ptau: smallFinal, log: quiet })).rejects.toThrow(/has power 4; .* needs a ptau of power >= 8/);
      await expect(ensureKeys(circuit, { keysRoot, ptau: p1, log: quiet })).rejects.toThrow(/not prepared for phase 2/);
      expect((await loadKeys(circuit, { keysRoot }))?.manifest).toEqual(keys.manifest);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });

  test("bad ptau path is rejected", async () => {
    await expect(ensureKeys(circuit, { keysRoot, ptau: "/nonexistent.ptau", log: quiet })).rejects.toThrow(/ptau file not found/);
  });
});
