/**
 * Development Groth16 setup without a powers-of-tau file: samples the toxic waste
 * (tau, alpha, beta, gamma, delta) from the OS CSPRNG, evaluates the QAP at tau in the
 * scalar field and computes every point of the proving key as a fixed-base scalar
 * multiple of the generators. The result is a snarkjs-compatible .zkey.
 *
 * INSECURE BY CONSTRUCTION: whoever runs this could have kept the toxic waste and can
 * then forge proofs. For development and tests only.
 */
import { promises as fsp } from "node:fs";
import { randomNonZero, writeBigLE32 } from "./devzkey_field";
import { fixedBaseMul, POINT_BYTES } from "./devzkey_fixedbase";
import { writeZkey } from "./devzkey_format";
import { evaluateQap, parseR1cs, ToxicWaste } from "./devzkey_qap";

export type LogFn = (o: object) => void;

export interface DevZkeyOptions {
  log?: LogFn;
  /** Worker threads for the scalar multiplications (default: number of CPUs). */
  threads?: number;
}

export interface DevZkeyResult {
  nVars: number;
  nPublic: number;
  nConstraints: number;
  domainSize: number;
  /** Seconds per phase. */
  timings: { readR1cs: number; qap: number; points: number; write: number; total: number };
}

function encodeScalars(xs: bigint[]): Uint8Array {
  const out = new Uint8Array(xs.length * 32);
  const dv = new DataView(out.buffer);
  xs.forEach((x, i) => writeBigLE32(dv, i * 32, x));
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Splits `buf` into consecutive slices of the given point counts. */
function splitPoints(buf: Uint8Array, pointBytes: number, counts: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let o = 0;
  for (const n of counts) {
    out.push(buf.subarray(o, o + n * pointBytes));
    o += n * pointBytes;
  }
  if (o !== buf.length) throw new Error("internal: point buffer size mismatch");
  return out;
}

export async function writeDevZkey(r1csPath: string, zkeyPath: string, opts: DevZkeyOptions = {}): Promise<DevZkeyResult> {
  const log = opts.log ?? ((): void => undefined);
  const t0 = performance.now();
  const lap = (() => {
    let last = t0;
    return (): number => {
      const now = performance.now();
      const s = (now - last) / 1000;
      last = now;
      return Math.round(s * 1000) / 1000;
    };
  })();

  const r1cs = parseR1cs(await fsp.readFile(r1csPath));
  const tRead = lap();
  log({ msg: "setup.progress", step: "r1cs", nConstraints: r1cs.nConstraints, nVars: r1cs.nVars, nPublic: r1cs.nPublic, seconds: tRead });

  let tw: ToxicWaste | null = {
    tau: randomNonZero(),
    alpha: randomNonZero(),
    beta: randomNonZero(),
    gamma: randomNonZero(),
    delta: randomNonZero(),
  };
  const q = evaluateQap(r1cs, tw);
  const g1Base = encodeScalars([tw.alpha, tw.beta, tw.delta]);
  const g2Base = encodeScalars([tw.beta, tw.gamma, tw.delta]);
  tw = null; // toxic waste: drop our reference as soon as possible
  const tQap = lap();
  log({ msg: "setup.progress", step: "qap", domainSize: q.domainSize, seconds: tQap });

  const nIC = q.nPublic + 1;
  const nC = q.nVars - q.nPublic - 1;
  const g1Counts = [3, nIC, q.nVars, q.nVars, nC, q.domainSize];
  const g2Counts = [3, q.nVars];
  let lastLogged = 0;
  const [g1, g2] = await fixedBaseMul(
    [
      { group: 1, scalars: concat([g1Base, q.ic, q.a, q.b, q.c, q.h]) },
      { group: 2, scalars: concat([g2Base, q.b]) },
    ],
    {
      threads: opts.threads,
      onProgress: ({ group, done, total }) => {
        const now = performance.now();
        if (done === total || now - lastLogged > 2000) {
          lastLogged = now;
          log({ msg: "setup.progress", step: "points", group: group === 1 ? "G1" : "G2", done, total });
        }
      },
    },
  );
  const tPoints = lap();
  log({ msg: "setup.progress", step: "points", seconds: tPoints });

  const [g1Base3, ic, a, b1, c, h] = splitPoints(g1, POINT_BYTES[1], g1Counts);
  const [g2Base3, b2] = splitPoints(g2, POINT_BYTES[2], g2Counts);
  const p1 = (i: number): Uint8Array => g1Base3.subarray(i * 64, (i + 1) * 64);
  const p2 = (i: number): Uint8Array => g2Base3.subarray(i * 128, (i + 1) * 128);
  await writeZkey(zkeyPath, {
    nVars: q.nVars,
    nPublic: q.nPublic,
    domainSize: q.domainSize,
    alpha1: p1(0),
    beta1: p1(1),
    delta1: p1(2),
    beta2: p2(0),
    gamma2: p2(1),
    delta2: p2(2),
    ic,
    coeffs: q.coeffsSection,
    a,
    b1,
    b2,
    c,
    h,
  });
  const tWrite = lap();
  const total = Math.round(performance.now() - t0) / 1000;
  log({ msg: "setup.progress", step: "write", seconds: tWrite });
  return {
    nVars: q.nVars,
    nPublic: q.nPublic,
    nConstraints: r1cs.nConstraints,
    domainSize: q.domainSize,
    timings: { readR1cs: tRead, qap: tQap, points: tPoints, write: tWrite, total },
  };
}
