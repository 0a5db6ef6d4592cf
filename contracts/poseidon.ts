/**
 * The Poseidon contracts the Rollup hashes with (PROTOCOL.md §6.4):
 * - Poseidon_4 and Poseidon_5: circomlibjs' generated contracts (`poseidonContract.createCode(4|5)`);
 *   Poseidon_4 chains the L1 queue and hashes balance-tree nodes, Poseidon_5 hashes account leaves.
 * - Poseidon_8 (account-tree nodes): circomlibjs' generator cannot build it (its stack-only code needs
 *   DUPs deeper than 16 for t = 9), so `poseidon8Bytecode()` generates a Yul contract that runs circomlib's
 *   optimized Poseidon (sparse partial rounds, circomlibjs' poseidon_opt constants) with the state in memory.
 *   Its constants (43 KiB) exceed one contract's code, so its constructor creates a second, code-only
 *   contract holding the rest. Same ABI as circomlibjs' (`poseidon(uint256[8])` and `poseidon(bytes32[8])`),
 *   same results as poseidon-lite's poseidon8.
 * deployModex checks each deployed contract against poseidon-lite before using it.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Abi, Hex } from "viem";

interface PoseidonContractGen {
  createCode(nInputs: number): string;
  generateABI(nInputs: number): Abi;
}

function gen(): PoseidonContractGen {
  // circomlibjs has no type definitions; this is its typed boundary. Loaded lazily (it is heavy).
  return (require("circomlibjs") as { poseidonContract: PoseidonContractGen }).poseidonContract;
}

const codes = new Map<number, Hex>();
function circomlibCode(n: number): Hex {
  let c = codes.get(n);
  if (!c) {
    c = gen().createCode(n) as Hex;
    codes.set(n, c);
  }
  return c;
}

/** Creation bytecode of the Poseidon(4 inputs) contract. */
export function poseidon4Bytecode(): Hex {
  return circomlibCode(4);
}

/** Creation bytecode of circomlibjs' Poseidon(5 inputs) contract. */
export function poseidon5Bytecode(): Hex {
  return circomlibCode(5);
}

/** The ABI circomlibjs generates for Poseidon(n) (two `poseidon` overloads: bytes32[n] and uint256[n]). */
export function poseidonGeneratedAbi(n: number): Abi {
  return gen().generateABI(n);
}

/** The ABI circomlibjs generates for it (two `poseidon` overloads: bytes32[4] and uint256[4]). */
export function poseidon4GeneratedAbi(): Abi {
  return poseidonGeneratedAbi(4);
}

// ------------------------------------------------------------------ Poseidon_8 (t = 9), generated Yul

const Q = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
const T = 9;
const ROUNDS_F = 8;
const ROUNDS_P = 63; // circomlib's N_ROUNDS_P for t = 9

interface OptConstants {
  /** Round constants, 8·t + RP. */
  readonly C: bigint[];
  /** Sparse partial-round vectors, RP × (2t − 1). */
  readonly S: bigint[];
  /** MDS matrix and the pre-sparse matrix, t × t. */
  readonly M: bigint[][];
  readonly P: bigint[][];
}

/** circomlib's optimized Poseidon constants for t = 9 (circomlibjs src/poseidon_constants_opt.json: what circom's Poseidon uses). */
function optConstantsT9(): OptConstants {
  // circomlibjs' package exports do not list its sources; load the JSON by path.
  const path = join(dirname(require.resolve("circomlibjs")), "..", "src", "poseidon_constants_opt.json"); // main = build/main.cjs
  const j = require(path) as { C: string[][]; S: string[][]; M: string[][][]; P: string[][][] };
  const k: OptConstants = { C: j.C[T - 2].map(BigInt), S: j.S[T - 2].map(BigInt), M: j.M[T - 2].map((r) => r.map(BigInt)), P: j.P[T - 2].map((r) => r.map(BigInt)) };
  if (k.C.length !== ROUNDS_F * T + ROUNDS_P || k.S.length !== ROUNDS_P * (2 * T - 1) || k.M.length !== T || k.P.length !== T) {
    throw new Error("circomlibjs: unexpected t=9 Poseidon constants");
  }
  return k;
}

/** circomlibjs' optimized Poseidon (poseidon_opt.js) for 8 inputs, in bigints: the algorithm the Yul contract runs. */
export function poseidon8Opt(inputs: readonly bigint[]): bigint {
  const { C, S, M, P } = optConstantsT9();
  const pow5 = (a: bigint): bigint => (((a * a) % Q) ** 2n % Q) * a % Q;
  const mix = (st: bigint[], m: bigint[][]): bigint[] => st.map((_, i) => st.reduce((acc, a, j) => (acc + m[j][i] * a) % Q, 0n));
  let st = [0n, ...inputs.map((x) => x % Q)].map((a, i) => (a + C[i]) % Q);
  for (let r = 0; r < ROUNDS_F / 2 - 1; r++) st = mix(st.map(pow5).map((a, i) => (a + C[(r + 1) * T + i]) % Q), M);
  st = mix(st.map(pow5).map((a, i) => (a + C[(ROUNDS_F / 2) * T + i]) % Q), P);
  for (let r = 0; r < ROUNDS_P; r++) {
    st[0] = (pow5(st[0]) + C[(ROUNDS_F / 2 + 1) * T + r]) % Q;
    const s0 = st.reduce((acc, a, j) => (acc + S[(2 * T - 1) * r + j] * a) % Q, 0n);
    for (let k = 1; k < T; k++) st[k] = (st[k] + st[0] * S[(2 * T - 1) * r + T + k - 1]) % Q;
    st[0] = s0;
  }
  for (let r = 0; r < ROUNDS_F / 2 - 1; r++) st = mix(st.map(pow5).map((a, i) => (a + C[(ROUNDS_F / 2 + 1) * T + ROUNDS_P + r * T + i]) % Q), M);
  return mix(st.map(pow5), M)[0];
}

const word = (x: bigint): string => x.toString(16).padStart(64, "0");
const selector = (sig: string): string => {
  // the first 4 bytes of keccak256(signature); viem is loaded lazily here to keep this module light.
  const { keccak256, toBytes } = require("viem") as typeof import("viem");
  return keccak256(toBytes(sig)).slice(0, 10);
};

/** Words of S kept in the main contract's code; the rest lives in a data contract it creates (EIP-170: 24 KiB of code each). */
const S_IN_MAIN = 360;

/**
 * Yul source of the Poseidon(8 inputs) contract: circomlib's optimized Poseidon (full rounds with the MDS
 * matrix, partial rounds with sparse matrices), state in memory. Constants: C ‖ Mᵀ ‖ Pᵀ ‖ S[0, S_IN_MAIN)
 * in the runtime's data section; the rest of S in a code-only contract that the constructor CREATEs
 * (nonce 1, so the runtime recomputes its address from its own). Memory: state s[0..8] at 0x80, the mix
 * output at 0x1a0, the constants from 0x300.
 */
export function poseidon8YulSource(): string {
  const { C, S, M, P } = optConstantsT9();
  const ST = 0x80;
  const OUT = 0x1a0;
  const CB = 0x300;
  const MB = CB + C.length * 32;
  const PB = MB + T * T * 32;
  const SB = PB + T * T * 32;
  const s = (i: number): string => `0x${(ST + 32 * i).toString(16)}`;
  // Matrices stored transposed: row x of the stored block is column x (out[x] = Σ_j m[j][x]·s[j]).
  const transposed = (m: bigint[][]): bigint[] => Array.from({ length: T * T }, (_, k) => m[k % T][Math.floor(k / T)]);
  const mainData = [...C, ...transposed(M), ...transposed(P), ...S.slice(0, S_IN_MAIN)].map(word).join("");
  const rest = S.slice(S_IN_MAIN);
  // The data contract: a 12-byte constructor returning its runtime, 0x00 (STOP) ‖ the rest of S.
  const restRuntimeLength = 1 + rest.length * 32;
  const childInit = `61${restRuntimeLength.toString(16).padStart(4, "0")}80600c6000396000f300${rest.map(word).join("")}`;

  const sbox = (i: number): string => `{ let x := mload(${s(i)}) let x2 := mulmod(x, x, q) mstore(${s(i)}, mulmod(mulmod(x2, x2, q), x, q)) }`;
  // Sums as one statement per term (nested expressions run the legacy stack out of slots).
  const row = [`let a := mulmod(mload(m), mload(${s(0)}), q)`, ...Array.from({ length: T - 1 }, (_, k) => `a := addmod(a, mulmod(mload(add(m, ${32 * (k + 1)})), mload(${s(k + 1)}), q), q)`)].join(" ");
  const sparse = [`let n0 := mulmod(mload(w), x, q)`, ...Array.from({ length: T - 1 }, (_, k) => `n0 := addmod(n0, mulmod(mload(add(w, ${32 * (k + 1)})), mload(${s(k + 1)}), q), q)`)].join(" ");
  const lines = [
    `object "PoseidonT9" {`,
    `  code {`,
    `    datacopy(0, dataoffset("Rest"), datasize("Rest"))`,
    `    if iszero(create(0, 0, datasize("Rest"))) { revert(0, 0) }`,
    `    datacopy(0, dataoffset("runtime"), datasize("runtime"))`,
    `    return(0, datasize("runtime"))`,
    `  }`,
    `  object "runtime" {`,
    `    code {`,
    `      function sboxAll(q) { ${Array.from({ length: T }, (_, i) => sbox(i)).join(" ")} }`,
    `      function addC(c, q) { ${Array.from({ length: T }, (_, i) => `mstore(${s(i)}, addmod(mload(${s(i)}), mload(add(c, ${32 * i})), q))`).join(" ")} }`,
    `      function mix(b, q) {`,
    `        for { let x := 0 } lt(x, ${T}) { x := add(x, 1) } {`,
    `          let m := add(b, mul(x, ${32 * T}))`,
    `          ${row}`,
    `          mstore(add(${OUT}, mul(x, 32)), a)`,
    `        }`,
    `        ${Array.from({ length: T }, (_, i) => `mstore(${s(i)}, mload(${OUT + 32 * i}))`).join(" ")}`,
    `      }`,
    `      let sel := shr(224, calldataload(0))`,
    `      if iszero(or(eq(sel, ${selector("poseidon(uint256[8])")}), eq(sel, ${selector("poseidon(bytes32[8])")}))) { revert(0, 0) }`,
    `      let q := 0x${word(Q)}`,
    `      datacopy(${CB}, dataoffset("K"), datasize("K"))`,
    `      // the data contract: CREATEd by the constructor with nonce 1 → keccak256(rlp([this, 1]))`,
    `      mstore(0, or(or(shl(240, 0xd694), shl(80, address())), shl(72, 1)))`,
    `      extcodecopy(and(keccak256(0, 23), 0xffffffffffffffffffffffffffffffffffffffff), ${SB + S_IN_MAIN * 32}, 1, ${rest.length * 32})`,
    `      mstore(${s(0)}, 0)`,
    `      calldatacopy(${s(1)}, 4, ${32 * (T - 1)})`,
    `      addC(${CB}, q)`,
    `      for { let r := 0 } lt(r, ${ROUNDS_F / 2 - 1}) { r := add(r, 1) } {`,
    `        sboxAll(q)`,
    `        addC(add(${CB + T * 32}, mul(r, ${32 * T})), q)`,
    `        mix(${MB}, q)`,
    `      }`,
    `      sboxAll(q)`,
    `      addC(${CB + (ROUNDS_F / 2) * T * 32}, q)`,
    `      mix(${PB}, q)`,
    `      for { let r := 0 } lt(r, ${ROUNDS_P}) { r := add(r, 1) } {`,
    `        let x := mload(${s(0)})`,
    `        let x2 := mulmod(x, x, q)`,
    `        x := addmod(mulmod(mulmod(x2, x2, q), x, q), mload(add(${CB + (ROUNDS_F / 2 + 1) * T * 32}, mul(r, 32))), q)`,
    `        let w := add(${SB}, mul(r, ${32 * (2 * T - 1)}))`,
    `        ${sparse}`,
    ...Array.from({ length: T - 1 }, (_, k) => `        mstore(${s(k + 1)}, addmod(mload(${s(k + 1)}), mulmod(x, mload(add(w, ${32 * (T + k)})), q), q))`),
    `        mstore(${s(0)}, n0)`,
    `      }`,
    `      for { let r := 0 } lt(r, ${ROUNDS_F / 2 - 1}) { r := add(r, 1) } {`,
    `        sboxAll(q)`,
    `        addC(add(${CB + ((ROUNDS_F / 2 + 1) * T + ROUNDS_P) * 32}, mul(r, ${32 * T})), q)`,
    `        mix(${MB}, q)`,
    `      }`,
    `      sboxAll(q)`,
    `      mix(${MB}, q)`,
    `      mstore(0, mload(${s(0)}))`,
    `      return(0, 32)`,
    `    }`,
    `    data "K" hex"${mainData}"`,
    `  }`,
    `  data "Rest" hex"${childInit}"`,
    `}`,
  ];
  return lines.join("\n") + "\n";
}

let code8: Hex | undefined;
/**
 * Creation bytecode of the generated Poseidon(8 inputs) contract (solc-js, Yul, optimizer on); cached
 * under build/contracts/ like compile.ts's output, so solc-js only loads when the source changes.
 */
export function poseidon8Bytecode(): Hex {
  if (code8) return code8;
  const source = poseidon8YulSource();
  const solcVersion = (require("solc/package.json") as { version: string }).version;
  const key = createHash("sha256").update(JSON.stringify({ solc: solcVersion, source })).digest("hex");
  const cacheDir = join(__dirname, "..", "build", "contracts");
  const cacheFile = join(cacheDir, `poseidon8-${key}.hex`);
  if (existsSync(cacheFile)) {
    const cached = readFileSync(cacheFile, "utf8").trim();
    if (/^0x[0-9a-f]+$/.test(cached)) {
      code8 = cached as Hex;
      return code8;
    }
  }
  const solc = require("solc") as { compile(input: string): string };
  const input = {
    language: "Yul",
    sources: { "PoseidonT9.yul": { content: source } },
    settings: { optimizer: { enabled: true, details: { yul: true } }, evmVersion: "cancun", outputSelection: { "*": { "*": ["evm.bytecode.object"] } } },
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input))) as {
    errors?: { severity: string; formattedMessage?: string; message: string }[];
    contracts?: Record<string, Record<string, { evm: { bytecode: { object: string } } }>>;
  };
  const errors = (out.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length > 0) throw new Error(`Poseidon8 Yul failed:\n${errors.map((e) => e.formattedMessage ?? e.message).join("\n")}`);
  const obj = out.contracts?.["PoseidonT9.yul"]?.["PoseidonT9"]?.evm.bytecode.object;
  if (!obj) throw new Error("Poseidon8 Yul: no bytecode");
  code8 = `0x${obj}`;
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  writeFileSync(tmp, code8);
  renameSync(tmp, cacheFile); // atomic: parallel test workers may build it at once
  return code8;
}
