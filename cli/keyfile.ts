/**
 * L2 key files: JSON {privateKey, ax, ay} (private key 32-byte 0x-hex, public key as decimal
 * strings), written 0600. Reading checks that the public key belongs to the private key, so an
 * edited or mixed-up file fails here and not as a bad signature at the sequencer.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { generatePrivateKey, initCrypto, publicKeyOf } from "../core/eddsa";
import { UsageError } from "./args";

export interface KeyFile {
  readonly privateKey: `0x${string}`;
  readonly ax: string;
  readonly ay: string;
}

/** A fresh key; awaits initCrypto itself. */
export async function newKey(): Promise<KeyFile> {
  await initCrypto();
  const privateKey = generatePrivateKey();
  const pub = publicKeyOf(privateKey);
  return { privateKey, ax: pub.ax.toString(), ay: pub.ay.toString() };
}

/** Writes `key` to `file` with mode 0600 (via a temporary file and rename, so a crash leaves no half key). */
export async function writeKeyFile(file: string, key: KeyFile, opts: { overwrite?: boolean } = {}): Promise<void> {
  if (!opts.overwrite && (await fsp.stat(file).catch(() => null))) {
    throw new UsageError(`${file} already exists; pass --force to overwrite it`, "keygen");
  }
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  await fsp.writeFile(tmp, JSON.stringify(key, null, 2) + "\n", { mode: 0o600, flag: "wx" });
  try {
    await fsp.rename(tmp, file);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
}

export interface LoadedKey extends KeyFile {
  /** Set when the file is readable by group or others. */
  readonly warning?: string;
}

/** Reads and checks a key file; problems are UsageErrors naming the file. Awaits initCrypto itself. */
export async function readKeyFile(file: string): Promise<LoadedKey> {
  let text: string;
  let mode: number;
  try {
    text = await fsp.readFile(file, "utf8");
    mode = (await fsp.stat(file)).mode & 0o777;
  } catch (e) {
    throw new UsageError(`cannot read key file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let o: Partial<Record<keyof KeyFile, unknown>>;
  try {
    o = JSON.parse(text) as typeof o;
  } catch {
    throw new UsageError(`key file ${file} is not JSON (expected {"privateKey", "ax", "ay"} as written by modex keygen)`);
  }
  if (typeof o.privateKey !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(o.privateKey)) {
    throw new UsageError(`key file ${file}: privateKey must be 32 bytes of 0x-hex`);
  }
  await initCrypto();
  const pub = publicKeyOf(o.privateKey);
  if (o.ax !== undefined || o.ay !== undefined) {
    if (String(o.ax) !== pub.ax.toString() || String(o.ay) !== pub.ay.toString()) {
      throw new UsageError(`key file ${file}: ax/ay do not belong to privateKey (edited or mixed-up file?)`);
    }
  }
  const key: KeyFile = { privateKey: o.privateKey as `0x${string}`, ax: pub.ax.toString(), ay: pub.ay.toString() };
  return mode & 0o077 ? { ...key, warning: `key file ${file} is readable by other users (mode ${mode.toString(8)}); run: chmod 600 ${file}` } : key;
}
