/**
 * Deploys a Modex instance: Poseidon4 and Poseidon5 (circomlibjs bytecode), Poseidon8 (generated,
 * contracts/poseidon.ts), one Groth16 verifier per batch shape (PROTOCOL.md §5.5), the Rollup, and
 * devnet TestTokens registered with addToken.
 */
import { existsSync, readFileSync } from "node:fs";
import { poseidon4 as poseidon4Js, poseidon5 as poseidon5Js, poseidon8 as poseidon8Js } from "poseidon-lite";
import { getAddress, type Abi, type Address, type Hex, type TransactionReceipt } from "viem";
import { ANVIL_DEV_PRIVATE_KEY } from "../chain/anvil";
import { shapeKey, shapeOf, validateShape, type Params, type Shape } from "../core/params";
import { poseidon4Abi, poseidon5Abi, poseidon8Abi, rollupAbi, testTokenAbi } from "./abi";
import { connectL1, type L1Clients } from "./clients";
import { artifact, compileContracts } from "./compile";
import { poseidon4Bytecode, poseidon5Bytecode, poseidon8Bytecode } from "./poseidon";

/**
 * The parameters the contract is built for (orderLevels does not reach L1): the trees, the fee buckets
 * and the batch shapes (`shapes`, absent: the one of the slot counts, which are the first shape's).
 */
export type RollupParams = Pick<Params, "accountLevels" | "balanceLevels" | "depositSlots" | "l2Slots" | "fillSlots" | "feeBuckets" | "shapes">;

/** One batch shape of a deployment and the Solidity source of its Groth16 verifier. */
export interface ShapeVerifierSource {
  readonly shape: Shape;
  /** Solidity source of the verifier, or the path of a .sol file (e.g. .modex/keys/<hash>/Verifier.sol). */
  readonly verifierSource: string;
  /** Contract name inside verifierSource (default snarkjs' "Groth16Verifier"). */
  readonly verifierContract?: string;
}

export interface TestTokenSpec {
  readonly name: string;
  readonly symbol: string;
  readonly decimals: number;
}

export const DEFAULT_TEST_TOKENS: readonly TestTokenSpec[] = [
  { name: "USD Coin (Modex test)", symbol: "USDC", decimals: 6 },
  { name: "Wrapped Ether (Modex test)", symbol: "WETH", decimals: 18 },
];

export interface DeployModexOptions {
  readonly rpcUrl: string;
  /** Deployer = operator = owner of account 0. Default: anvil dev account 0. */
  readonly privateKey?: Hex;
  /**
   * Solidity source of the verifier, or the path of a .sol file (e.g. .modex/keys/<hash>/Verifier.sol):
   * the one shape's, the params' slot counts, when `shapes` is absent (ignored when it is given).
   */
  readonly verifierSource?: string;
  /** Contract name inside verifierSource (default snarkjs' "Groth16Verifier"). */
  readonly verifierContract?: string;
  /**
   * Every batch shape with its verifier, the params' own slot counts first (PROTOCOL.md §5.5); the
   * same shapes as params.shapes when that is given. Absent: one shape, the params' slot counts, with
   * verifierSource. Sources that declare the same contract name (snarkjs' Groth16Verifier) are
   * compiled as distinct source units.
   */
  readonly shapes?: readonly ShapeVerifierSource[];
  /** Extra Solidity sources compiled alongside (source unit name → text). */
  readonly extraSources?: Readonly<Record<string, string>>;
  readonly params: RollupParams;
  readonly genesisRoot: bigint;
  /** Baby Jubjub key of account 0, the fee account. */
  readonly operatorKey: { readonly ax: bigint; readonly ay: bigint };
  /**
   * Blocks a forced withdrawal may wait before anyone can freeze the rollup (default
   * DEFAULT_FORCED_DEADLINE_BLOCKS, sized for devnets; a production deployment wants days of blocks).
   */
  readonly forcedDeadlineBlocks?: number;
  /**
   * Seconds a batch's timestamp may lag the block that finalizes it (default DEFAULT_MAX_TIMESTAMP_LAG):
   * above the worst proving delay, and the longest a signed operation can outlive its validUntil.
   */
  readonly maxTimestampLag?: number;
  /** ERC-20 TestTokens to deploy and register as ids 1, 2, … (default USDC, WETH). */
  readonly tokens?: readonly TestTokenSpec[];
  readonly log?: (msg: string) => void;
}

export interface DeployedToken extends TestTokenSpec {
  readonly id: number;
  readonly address: Address;
}

export interface ModexDeployment {
  readonly chainId: number;
  readonly operator: Address;
  readonly rollup: Address;
  readonly poseidon4: Address;
  readonly poseidon5: Address;
  readonly poseidon8: Address;
  /** The first shape's verifier (verifiers[0].address). */
  readonly verifier: Address;
  /** Each shape's verifier, in the Rollup's shapes() order. */
  readonly verifiers: readonly { readonly shape: Shape; readonly address: Address }[];
  /** ERC-20 tokens; id 0 (ETH) is implicit. */
  readonly tokens: readonly DeployedToken[];
  /** Block of the Rollup deployment: scan events from here. */
  readonly deployBlock: bigint;
  /** With `shapes`: every shape of the deployment, in order. */
  readonly params: RollupParams;
  readonly genesisRoot: bigint;
  readonly forcedDeadlineBlocks: number;
  readonly maxTimestampLag: number;
}

/** Devnet default for DeployModexOptions.forcedDeadlineBlocks. */
export const DEFAULT_FORCED_DEADLINE_BLOCKS = 100;

/**
 * Devnet default for DeployModexOptions.maxTimestampLag: one hour. The worst proving delay it must
 * exceed is maxUnprovenBatches (8) batches queued for one prover, each retried up to 3 times at
 * ≈ 15.4 s per attempt on 2 cores, plus 1 + 2 s of backoff: 8 × (3 × 15.4 + 3) s ≈ 6.6 min (PROTOCOL.md §3).
 */
export const DEFAULT_MAX_TIMESTAMP_LAG = 3600;

function checkU32(name: string, v: number): number {
  if (!Number.isInteger(v) || v <= 0 || v >= 2 ** 32) throw new Error(`${name} must be an integer in [1, 2^32), got ${v}`);
  return v;
}

/**
 * The deployment's shapes and their verifier sources: opts.shapes, checked against the params (the
 * first shape = the slot counts; params.shapes, when given, the same list), or the params' one shape.
 */
export function shapeVerifierSources(opts: Pick<DeployModexOptions, "params" | "shapes" | "verifierSource" | "verifierContract">): readonly ShapeVerifierSource[] {
  const p = opts.params;
  const own = shapeOf(p);
  let list: readonly ShapeVerifierSource[];
  if (opts.shapes && opts.shapes.length > 0) {
    list = opts.shapes;
    if (shapeKey(list[0].shape) !== shapeKey(own)) throw new Error(`the params' slot counts (${shapeKey(own)}) must be the first shape (${shapeKey(list[0].shape)})`);
    if (p.shapes && p.shapes.length > 0 && p.shapes.map(shapeKey).join() !== list.map((s) => shapeKey(s.shape)).join()) {
      throw new Error(`params.shapes (${p.shapes.map(shapeKey).join(", ")}) differ from the shapes to deploy (${list.map((s) => shapeKey(s.shape)).join(", ")})`);
    }
  } else {
    if (p.shapes && p.shapes.length > 1) throw new Error(`params list ${p.shapes.length} shapes (${p.shapes.map(shapeKey).join(", ")}): give each its verifier in \`shapes\``);
    if (opts.verifierSource === undefined) throw new Error("deployModex needs verifierSource or shapes");
    list = [{ shape: own, verifierSource: opts.verifierSource, verifierContract: opts.verifierContract }];
  }
  for (const s of list) validateShape(s.shape);
  return list;
}

/** Reads `source` as a file when it names an existing .sol file, else treats it as Solidity text. */
export function resolveSoliditySource(source: string): string {
  if (!source.includes("\n") && source.trim().endsWith(".sol") && existsSync(source.trim())) {
    return readFileSync(source.trim(), "utf8");
  }
  return source;
}

export async function deployModex(opts: DeployModexOptions): Promise<ModexDeployment> {
  const log = opts.log ?? ((): void => undefined);
  const tokens = opts.tokens ?? DEFAULT_TEST_TOKENS;
  const maxTokens = Math.min(4 ** opts.params.balanceLevels, 256);
  if (tokens.length + 1 > maxTokens) {
    throw new Error(`${tokens.length} tokens + ETH exceed ${maxTokens} token ids (balanceLevels ${opts.params.balanceLevels})`);
  }

  const forcedDeadlineBlocks = checkU32("forcedDeadlineBlocks", opts.forcedDeadlineBlocks ?? DEFAULT_FORCED_DEADLINE_BLOCKS);
  const maxTimestampLag = checkU32("maxTimestampLag", opts.maxTimestampLag ?? DEFAULT_MAX_TIMESTAMP_LAG);
  const shapeSources = shapeVerifierSources(opts);
  // One source unit per distinct verifier text: "Verifier.sol" (the first shape's), "Verifier-<shape>.sol".
  const units = new Map<string, string>(); // text → unit name
  for (const s of shapeSources) {
    const text = resolveSoliditySource(s.verifierSource);
    if (!units.has(text)) units.set(text, units.size === 0 ? "Verifier.sol" : `Verifier-${shapeKey(s.shape)}.sol`);
  }
  const compiled = compileContracts({ ...opts.extraSources, ...Object.fromEntries([...units].map(([text, unit]) => [unit, text])) });
  const clients = await connectL1({ rpcUrl: opts.rpcUrl, privateKey: opts.privateKey ?? ANVIL_DEV_PRIVATE_KEY });
  const { publicClient, walletClient, account } = clients;

  const poseidon4 = await deployContract(clients, "Poseidon4", poseidon4Abi, poseidon4Bytecode(), [], log);
  const poseidon5 = await deployContract(clients, "Poseidon5", poseidon5Abi, poseidon5Bytecode(), [], log);
  const poseidon8 = await deployContract(clients, "Poseidon8", poseidon8Abi, poseidon8Bytecode(), [], log);
  const [probe4, probe5, probe8] = await Promise.all([
    publicClient.readContract({ address: poseidon4, abi: poseidon4Abi, functionName: "poseidon", args: [[1n, 2n, 3n, 4n]] }),
    publicClient.readContract({ address: poseidon5, abi: poseidon5Abi, functionName: "poseidon", args: [[1n, 2n, 3n, 4n, 5n]] }),
    publicClient.readContract({ address: poseidon8, abi: poseidon8Abi, functionName: "poseidon", args: [[1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n]] }),
  ]);
  if (probe4 !== poseidon4Js([1n, 2n, 3n, 4n])) throw new Error("deployed Poseidon4 disagrees with poseidon-lite");
  if (probe5 !== poseidon5Js([1n, 2n, 3n, 4n, 5n])) throw new Error("deployed Poseidon5 disagrees with poseidon-lite");
  if (probe8 !== poseidon8Js([1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n])) throw new Error("deployed Poseidon8 disagrees with poseidon-lite");

  const verifiers: { shape: Shape; address: Address }[] = [];
  for (const s of shapeSources) {
    const unit = units.get(resolveSoliditySource(s.verifierSource)) as string;
    const a = artifact(compiled, `${unit}:${s.verifierContract ?? "Groth16Verifier"}`);
    const address = await deployContract(clients, `Verifier ${shapeKey(s.shape)}`, a.abi, a.bytecode, [], log);
    verifiers.push({ shape: shapeOf(s.shape), address });
  }

  const p = opts.params;
  const rollupReceipt = await sendDeploy(
    clients,
    "Rollup",
    rollupAbi,
    artifact(compiled, "Rollup").bytecode,
    [
      poseidon4,
      poseidon5,
      poseidon8,
      { accountLevels: p.accountLevels, balanceLevels: p.balanceLevels, feeBuckets: p.feeBuckets },
      opts.genesisRoot,
      opts.operatorKey.ax,
      opts.operatorKey.ay,
      forcedDeadlineBlocks,
      maxTimestampLag,
      verifiers.map((v) => ({ verifier: v.address, ...v.shape })),
    ],
    log,
  );
  const rollup = getAddress(rollupReceipt.contractAddress as Address);

  const deployed: DeployedToken[] = [];
  const tokenBytecode = artifact(compiled, "TestToken").bytecode;
  for (const [i, t] of tokens.entries()) {
    const address = await deployContract(clients, t.symbol, testTokenAbi, tokenBytecode, [t.name, t.symbol, t.decimals], log);
    const hash = await walletClient.writeContract({ address: rollup, abi: rollupAbi, functionName: "addToken", args: [address] });
    await expectSuccess(clients, hash, `addToken(${t.symbol})`);
    deployed.push({ ...t, id: i + 1, address });
    log(`token ${t.symbol} = id ${i + 1} at ${address}`);
  }

  return {
    chainId: clients.chain.id,
    operator: account.address,
    rollup,
    poseidon4,
    poseidon5,
    poseidon8,
    verifier: verifiers[0].address,
    verifiers,
    tokens: deployed,
    deployBlock: rollupReceipt.blockNumber,
    params: { accountLevels: p.accountLevels, balanceLevels: p.balanceLevels, ...shapeOf(p), feeBuckets: p.feeBuckets, shapes: verifiers.map((v) => v.shape) },
    genesisRoot: opts.genesisRoot,
    forcedDeadlineBlocks,
    maxTimestampLag,
  };
}

async function sendDeploy(
  clients: L1Clients,
  label: string,
  abi: Abi,
  bytecode: Hex,
  args: readonly unknown[],
  log: (msg: string) => void,
): Promise<TransactionReceipt> {
  // viem's generic deployContract typing cannot follow a runtime Abi; the args are checked at encoding.
  const hash = await clients.walletClient.deployContract({ abi, bytecode, args: args as unknown[] });
  const receipt = await expectSuccess(clients, hash, `deploy ${label}`);
  if (!receipt.contractAddress) throw new Error(`deploy ${label}: no contract address in receipt`);
  log(`${label} at ${receipt.contractAddress} (gas ${receipt.gasUsed})`);
  return receipt;
}

async function deployContract(
  clients: L1Clients,
  label: string,
  abi: Abi,
  bytecode: Hex,
  args: readonly unknown[],
  log: (msg: string) => void,
): Promise<Address> {
  return getAddress((await sendDeploy(clients, label, abi, bytecode, args, log)).contractAddress as Address);
}

async function expectSuccess({ publicClient }: L1Clients, hash: Hex, what: string): Promise<TransactionReceipt> {
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`${what} reverted (tx ${hash})`);
  return receipt;
}
