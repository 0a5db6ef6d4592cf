/**
 * Writer for snarkjs' Groth16 .zkey binary format (see snarkjs src/zkey_utils.js and
 * zkey_new.js). A binfile: "zkey", version 1, nSections, then per section
 * (id: u32, size: u64, payload). Field elements and points are little-endian;
 * points are affine with Montgomery coordinates (LEM), infinity = zeros.
 *
 *   1 header       u32 protocol (1 = groth16)
 *   2 groth header n8q, q, n8r, r, nVars, nPublic, domainSize,
 *                  alpha1, beta1, beta2, gamma2, delta1, delta2
 *   3 IC  4 coeffs  5 A  6 B1  7 B2  8 C  9 H
 *  10 contributions csHash (64 bytes), u32 count (0 here)
 */
import { createHash } from "node:crypto";
import { promises as fsp } from "node:fs";
import { R, writeBigLE32 } from "./devzkey_field";

const WRITE_CHUNK = 1 << 26;

export const Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;

export interface ZkeyContents {
  nVars: number;
  nPublic: number;
  domainSize: number;
  /** LEM affine points. */
  alpha1: Uint8Array;
  beta1: Uint8Array;
  beta2: Uint8Array;
  gamma2: Uint8Array;
  delta1: Uint8Array;
  delta2: Uint8Array;
  ic: Uint8Array;
  coeffs: Uint8Array;
  a: Uint8Array;
  b1: Uint8Array;
  b2: Uint8Array;
  c: Uint8Array;
  h: Uint8Array;
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

function big32(x: bigint): Uint8Array {
  const b = new Uint8Array(32);
  writeBigLE32(new DataView(b.buffer), 0, x);
  return b;
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

/** Writes the .zkey; returns the 64-byte "circuit hash" stored in section 10. */
export async function writeZkey(file: string, z: ZkeyContents): Promise<Uint8Array> {
  const expect = (name: string, buf: Uint8Array, len: number): void => {
    if (buf.length !== len) throw new Error(`zkey ${name}: ${buf.length} bytes, expected ${len}`);
  };
  expect("IC", z.ic, (z.nPublic + 1) * 64);
  expect("A", z.a, z.nVars * 64);
  expect("B1", z.b1, z.nVars * 64);
  expect("B2", z.b2, z.nVars * 128);
  expect("C", z.c, (z.nVars - z.nPublic - 1) * 64);
  expect("H", z.h, z.domainSize * 64);

  const grothHeader = concat([
    u32(32), big32(Q), u32(32), big32(R),
    u32(z.nVars), u32(z.nPublic), u32(z.domainSize),
    z.alpha1, z.beta1, z.beta2, z.gamma2, z.delta1, z.delta2,
  ]);
  // Not snarkjs' csHash (that one hashes the pre-contribution points); a digest of this key.
  const hasher = createHash("blake2b512");
  hasher.update("modex-dev-zkey");
  for (const p of [grothHeader, z.ic, z.a, z.b1, z.b2, z.c, z.h]) hasher.update(p);
  const csHash = new Uint8Array(hasher.digest());

  // Same section order as snarkjs newZKey.
  const sections: [number, Uint8Array][] = [
    [1, u32(1)],
    [2, grothHeader],
    [4, z.coeffs],
    [3, z.ic],
    [9, z.h],
    [8, z.c],
    [5, z.a],
    [6, z.b1],
    [7, z.b2],
    [10, concat([csHash, u32(0)])],
  ];
  const fh = await fsp.open(file, "w");
  try {
    await fh.write(concat([new TextEncoder().encode("zkey"), u32(1), u32(sections.length)]));
    for (const [id, payload] of sections) {
      const sh = new Uint8Array(12);
      const dv = new DataView(sh.buffer);
      dv.setUint32(0, id, true);
      dv.setBigUint64(4, BigInt(payload.length), true);
      await fh.write(sh);
      // Chunked: a single write() is limited to 2 GiB.
      for (let o = 0; o < payload.length; o += WRITE_CHUNK) await fh.write(payload.subarray(o, Math.min(payload.length, o + WRITE_CHUNK)));
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  return csHash;
}
