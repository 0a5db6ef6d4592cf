/**
 * Deploys a Modex instance: Poseidon4 and Poseidon5 (circomlibjs bytecode), Poseidon8 (generated,
 * contracts/poseidon.ts), the Groth16 verifier, the Rollup, and devnet TestTokens registered with addToken.
 */
import { existsSync, readFileSync } from "node:fs";
import { poseidon4 as poseidon4Js, poseidon5 as poseidon5Js, poseidon8 as poseidon8Js } from "poseidon-lite";
import { getAddress, type Abi, type Address, type Hex, type TransactionReceipt } from "viem";
import { ANVIL_DEV_PRIVATE_KEY } from "../chain/anvil";
import type { Params } from "../core/params";
import { poseidon4Abi, poseidon5Abi, poseidon8Abi, rollupAbi, testTokenAbi } from "./abi";
import { connectL1, type L1Clients } from "./clients";
import { artifact, compileContracts } from "./compile";
import { poseidon4Bytecode, poseidon5Bytecode, poseidon8Bytecode } from "./poseidon";

/** The parameters the contract is built for (orderLevels does not reach L1). */
export type RollupParams = Pick<Params, "accountLevels" | "balanceLevels" | "depositSlots" | "l2Slots" | "fillSlots" | "feeBuckets">;

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
  /** Solidity source of the verifier, or the path of a .sol file (e.g. .modex/keys/<hash>/Verifier.sol). */
  readonly verifierSource: string;
  /** Contract name inside verifierSource (default snarkjs' "Groth16Verifier"). */
  readonly verifierContract?: string;
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
  readonly verifier: Address;
  /** ERC-20 tokens; id 0 (ETH) is implicit. */
  readonly tokens: readonly DeployedToken[];
  /** Block of the Rollup deployment: scan events from here. */
  readonly deployBlock: bigint;
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
  const compiled = compileContracts({ ...opts.extraSources, "Verifier.sol": resolveSoliditySource(opts.verifierSource) });
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

  const verifierArtifact = artifact(compiled, opts.verifierContract ?? "Groth16Verifier");
  const verifier = await deployContract(clients, "Verifier", verifierArtifact.abi, verifierArtifact.bytecode, [], log);

  const p = opts.params;
  const rollupReceipt = await sendDeploy(
    clients,
    "Rollup",
    rollupAbi,
    artifact(compiled, "Rollup").bytecode,
    [
      verifier,
      poseidon4,
      poseidon5,
      poseidon8,
      {
        accountLevels: p.accountLevels,
        balanceLevels: p.balanceLevels,
        depositSlots: p.depositSlots,
        l2Slots: p.l2Slots,
        fillSlots: p.fillSlots,
        feeBuckets: p.feeBuckets,
      },
      opts.genesisRoot,
      opts.operatorKey.ax,
      opts.operatorKey.ay,
      forcedDeadlineBlocks,
      maxTimestampLag,
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
    verifier,
    tokens: deployed,
    deployBlock: rollupReceipt.blockNumber,
    params: { ...p },
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
