/**
 * Market configuration: the order books a sequencer runs. Markets are configured, never
 * hard-coded: from a JSON file (--markets FILE), or derived from the rollup's registered tokens.
 */
import { readFileSync } from "node:fs";
import { erc20Abi } from "viem";
import { rollupAbi } from "../contracts/abi";
import type { L1 } from "./l1";
import type { MarketConfig } from "./matching";

export interface TokenInfo {
  readonly id: number;
  readonly symbol: string;
}

/** Default fees of derived markets (bips): makers 0.10%, takers 0.20%. */
export const DEFAULT_FEES = { makerFeeBips: 10, takerFeeBips: 20 } as const;

/**
 * The first ERC-20 (token 1) is the quote of every other token: `<SYMBOL>-<QUOTE>`, ETH included.
 * With no ERC-20 there is nothing to quote against and no market.
 */
export function marketsFromTokens(tokens: readonly TokenInfo[], fees = DEFAULT_FEES): MarketConfig[] {
  const quote = tokens.find((t) => t.id === 1);
  if (!quote) return [];
  return tokens.filter((t) => t.id !== quote.id).map((t) => ({ id: `${t.symbol}-${quote.symbol}`, base: t.id, quote: quote.id, ...fees }));
}

/** The rollup's tokens with their ERC-20 symbols (id 0 is ETH). */
export async function rollupTokens(l1: L1): Promise<TokenInfo[]> {
  const pc = l1.clients.publicClient;
  const count = Number(await pc.readContract({ address: l1.rollup, abi: rollupAbi, functionName: "tokenCount" }));
  const out: TokenInfo[] = [{ id: 0, symbol: "ETH" }];
  for (let id = 1; id < count; id++) {
    const address = await pc.readContract({ address: l1.rollup, abi: rollupAbi, functionName: "tokenAddress", args: [id] });
    const symbol = await pc.readContract({ address, abi: erc20Abi, functionName: "symbol" }).catch(() => `T${id}`);
    out.push({ id, symbol });
  }
  return out;
}

/** A JSON array of { id, base, quote, makerFeeBips, takerFeeBips }; the sequencer validates the values. */
export function loadMarketsFile(file: string): MarketConfig[] {
  const parsed: unknown = JSON.parse(readFileSync(file, "utf8"));
  if (!Array.isArray(parsed)) throw new Error(`${file}: expected a JSON array of markets`);
  return parsed.map((m, i) => {
    const o = m as Record<string, unknown>;
    const keys = ["id", "base", "quote", "makerFeeBips", "takerFeeBips"];
    for (const k of Object.keys(o)) if (!keys.includes(k)) throw new Error(`${file}: market ${i}: unknown field ${k}`);
    if (typeof o.id !== "string") throw new Error(`${file}: market ${i}: id must be a string`);
    for (const k of keys.slice(1)) if (typeof o[k] !== "number") throw new Error(`${file}: market ${i}: ${k} must be a number`);
    return { id: o.id, base: o.base as number, quote: o.quote as number, makerFeeBips: o.makerFeeBips as number, takerFeeBips: o.takerFeeBips as number };
  });
}
