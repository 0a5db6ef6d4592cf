/**
 * A real chain for end-to-end tests: anvil, the contracts deployed with the test circuit's
 * verifier, users registered on L1, and sequencer nodes (sequencer + HTTP API) on a database.
 */
import * as path from "node:path";
import type { Hex } from "viem";
import { ANVIL_DEV_PRIVATE_KEYS, startAnvil, type AnvilInstance } from "../../chain/anvil";
import { batchCircuitName, batchCircuitSource } from "../../circuits/batch";
import { compileCircuit } from "../../circuits/compile";
import { createApiClient, type ModexApiClient, type TxResponse } from "../../cli/api-client";
import { buildSignedTransfer } from "../../cli/tx";
import { rollupAbi } from "../../contracts/abi";
import { connectL1, type L1Clients } from "../../contracts/clients";
import { deployModex, type ModexDeployment } from "../../contracts/deploy";
import { generatePrivateKey, publicKeyOf, State, type Params, type PublicKey } from "../../core";
import { shapesOf } from "../../core/params";
import { ensureKeys } from "../../prover/keys";
import type { CircuitArtifacts } from "../../prover/types";
import { serve, type RunningApi } from "../../sequencer/api";
import { silentLogger } from "../../sequencer/log";
import { createSequencer, type Sequencer, type SequencerOptions } from "../../sequencer/sequencer";
import type { MarketConfig } from "../../sequencer/matching/types";
import type { BatchInfo } from "../../sequencer/views";
import { stalledProver } from "./provers";

/**
 * A rollup whose verifiers accept the public input they are told to (test/fixtures/contracts/AcceptingVerifier.sol,
 * TEST ONLY): for tests of the contract, the API and the sequencer that need no proofs. One AcceptingVerifier
 * per shape of `params` (shapesOf: its own slot counts when it lists none), each its own instance.
 */
export function deployAccepting(rpcUrl: string, params: Params, operatorKey: PublicKey): Promise<ModexDeployment> {
  const verifierSource = path.join(__dirname, "..", "fixtures", "contracts", "AcceptingVerifier.sol");
  return deployModex({
    rpcUrl,
    privateKey: ANVIL_DEV_PRIVATE_KEYS[0],
    shapes: shapesOf(params).map((shape) => ({ shape, verifierSource, verifierContract: "AcceptingVerifier" })),
    params,
    genesisRoot: new State(params).root,
    operatorKey,
  });
}

/**
 * A sequencer behind real HTTP that accepts, matches and cuts batches but proves nothing (its prover
 * never answers): for API, book and acceptance tests against a deployAccepting rollup.
 */
export async function openUnprovenSequencer(o: { rpcUrl: string; dep: ModexDeployment; params: Params; db: string; markets: readonly MarketConfig[] }): Promise<{ seq: Sequencer; api: RunningApi }> {
  const seq = await createSequencer({
    params: o.params,
    db: o.db,
    l1: { rpcUrl: o.rpcUrl, rollup: o.dep.rollup, privateKey: ANVIL_DEV_PRIVATE_KEYS[0], fromBlock: o.dep.deployBlock, pollIntervalMs: 100 },
    prover: stalledProver(),
    proving: false,
    markets: [...o.markets],
    log: silentLogger,
  });
  return { seq, api: await serve(seq, 0, { log: silentLogger }) };
}

/** An unproven sequencer node (openUnprovenSequencer) with its API client, for trading and batch-shape tests. */
export interface UnprovenNode {
  readonly seq: Sequencer;
  readonly api: RunningApi;
  readonly client: ModexApiClient;
  /** Closes the API, then stops the sequencer (the database stays for a restart). */
  close(): Promise<void>;
  /** Reads L1, then cuts every batch that is due, handing each to `check` (a model's replay) in order. */
  cutAll(check: (b: BatchInfo) => Promise<void> | void): Promise<BatchInfo[]>;
}

export async function openUnprovenNode(o: Parameters<typeof openUnprovenSequencer>[0]): Promise<UnprovenNode> {
  const { seq, api } = await openUnprovenSequencer(o);
  const client = createApiClient({ baseUrl: api.url });
  return {
    seq,
    api,
    client,
    async close() {
      await api.close();
      await seq.stop();
    },
    async cutAll(check) {
      const out: BatchInfo[] = [];
      for (;;) {
        await seq.pollL1();
        const n = await seq.cutBatch();
        if (n === null) return out;
        const b = await client.batch(n);
        await check(b);
        out.push(b);
      }
    },
  };
}

export interface ChainUser {
  readonly priv: string;
  readonly l1: L1Clients;
  readonly id: number;
  /** Next L2 nonce this test has used. */
  nonce: number;
}

export interface DevChain {
  readonly params: Params;
  readonly anvil: AnvilInstance;
  readonly dep: ModexDeployment;
  readonly artifacts: CircuitArtifacts;
  register(devKeyIndex: number, wei: bigint): Promise<ChainUser>;
  /** BatchFinalized events in chain order: batch numbers. */
  finalizedOnL1(): Promise<number[]>;
  stop(): Promise<void>;
}

/** Compiles the batch circuit of `params` and its dev keys (cached), starts anvil, deploys. */
export async function startDevChain(params: Params): Promise<DevChain> {
  const circuit = await compileCircuit({ name: batchCircuitName(params), mainSource: batchCircuitSource(params), log: silentLogger });
  const keys = await ensureKeys(circuit, { log: silentLogger });
  const artifacts: CircuitArtifacts = { circuitHash: circuit.circuitHash, wasmPath: circuit.wasmPath, zkeyPath: keys.zkeyPath, vkeyPath: keys.vkeyPath };
  const anvil = await startAnvil({ port: 0 });
  const dep = await deployModex({ rpcUrl: anvil.rpcUrl, verifierSource: keys.verifierPath, params, genesisRoot: new State(params).root, operatorKey: publicKeyOf(generatePrivateKey()) });
  const reader = await connectL1({ rpcUrl: anvil.rpcUrl, privateKey: ANVIL_DEV_PRIVATE_KEYS[0], chainId: anvil.chainId });
  return {
    params,
    anvil,
    dep,
    artifacts,
    async register(i, wei) {
      const priv = generatePrivateKey();
      const key = publicKeyOf(priv);
      const l1 = await connectL1({ rpcUrl: anvil.rpcUrl, privateKey: ANVIL_DEV_PRIVATE_KEYS[i], chainId: anvil.chainId });
      const id = Number(await l1.publicClient.readContract({ address: dep.rollup, abi: rollupAbi, functionName: "nextAccountId" }));
      const hash = await l1.walletClient.writeContract({ address: dep.rollup, abi: rollupAbi, functionName: "register", args: [key.ax, key.ay, 0, wei], value: wei });
      const r = await l1.publicClient.waitForTransactionReceipt({ hash });
      if (r.status !== "success") throw new Error("register reverted");
      return { priv, l1, id, nonce: 0 };
    },
    async finalizedOnL1() {
      const logs = await reader.publicClient.getContractEvents({ address: dep.rollup, abi: rollupAbi, eventName: "BatchFinalized", fromBlock: dep.deployBlock });
      return logs.map((l) => Number((l.args as { batchNumber: bigint }).batchNumber));
    },
    stop: () => anvil.stop(),
  };
}

export interface Node {
  readonly seq: Sequencer;
  readonly api: RunningApi;
  readonly client: ModexApiClient;
  close(): Promise<void>;
}

/** A sequencer and its HTTP API on `db`; started unless `start` is false. */
export async function openNode(chain: DevChain, db: string, extra: Partial<SequencerOptions> & Pick<SequencerOptions, "prover">, start = true): Promise<Node> {
  const seq = await createSequencer({
    params: chain.params,
    db,
    l1: { rpcUrl: chain.anvil.rpcUrl, rollup: chain.dep.rollup, privateKey: ANVIL_DEV_PRIVATE_KEYS[0] as Hex, fromBlock: chain.dep.deployBlock, pollIntervalMs: 200 },
    log: silentLogger,
    ...extra,
  });
  const api = await serve(seq, 0, { log: silentLogger });
  if (start) await seq.start();
  let closing: Promise<void> | null = null;
  return {
    seq,
    api,
    client: createApiClient({ baseUrl: api.url }),
    close: () =>
      (closing ??= (async () => {
        await api.close();
        await seq.stop();
      })()),
  };
}

/** A signed transfer of `amount` wei from `from` to `to`, using and advancing from's nonce. */
export function transferBody(chain: DevChain, from: ChainUser, to: ChainUser, amount: bigint): ReturnType<typeof buildSignedTransfer> {
  return buildSignedTransfer(from.priv, { from: from.id, to: to.id, token: 0, amount, fee: 0n, nonce: from.nonce++, validUntil: 2 ** 32 - 1, chainId: chain.anvil.chainId, rollup: chain.dep.rollup });
}

export async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 300_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Waits until every tx is finalized; throws at once if one is rejected. */
export function allFinalized(client: ModexApiClient, hashes: readonly Hex[], timeoutMs?: number): Promise<TxResponse[]> {
  return until(
    `txs ${hashes.join(", ")} finalized`,
    async () => {
      const txs = await Promise.all(hashes.map((h) => client.tx(h)));
      const bad = txs.find((t) => t.status === "rejected");
      if (bad) throw new Error(`tx ${bad.hash} was rejected: ${JSON.stringify(bad.reason)}`);
      return txs.every((t) => t.status === "finalized") ? txs : null;
    },
    timeoutMs,
  );
}
