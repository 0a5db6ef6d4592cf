/**
 * Signature-verification worker (sequencer/verify-pool.ts): verifies arrays of
 * (message, signature, key) with core/eddsa-fast.ts and answers one array of booleans per request.
 */
import { parentPort } from "node:worker_threads";
import { verifyFast, warmUpFastVerifier } from "../core/eddsa-fast";
import type { VerifyReply, VerifyRequest } from "./verify-pool";

const port = parentPort;
if (!port) throw new Error("sequencer/verify-worker.ts runs only as a worker thread");
warmUpFastVerifier();
port.on("message", (req: VerifyRequest) => {
  const ok = req.jobs.map((j) => verifyFast(j.m, { r8x: j.r8x, r8y: j.r8y, s: j.s }, { ax: j.ax, ay: j.ay }));
  const reply: VerifyReply = { type: "results", ids: req.ids, ok };
  port.postMessage(reply);
});
port.postMessage({ type: "ready" } satisfies VerifyReply);
