/**
 * The API client under backpressure: a `503 overloaded` answer is waited out as its Retry-After
 * says and the request sent again (a refused request changed nothing), within overloadWaitMs; other
 * errors are thrown at once. Against a real HTTP server that refuses a set number of times.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ApiError, createApiClient } from "../cli/api-client";

let server: Server;
let url: string;
let refusals = 0;
let posts = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      posts++;
      if (refusals > 0) {
        refusals--;
        res.writeHead(503, { "content-type": "application/json", "retry-after": "2" });
        res.end(JSON.stringify({ error: { code: "overloaded", message: "proving backlog is 70 s (…), over this sequencer's bound of 60 s; retry after 2 s" } }));
        return;
      }
      if (req.url === "/v1/txs") {
        res.writeHead(202, { "content-type": "application/json" });
        res.end(JSON.stringify({ hash: `0x${"ab".repeat(32)}`, status: "accepted" }));
        return;
      }
      res.writeHead(429, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: "too_many_pending", message: "retry later" } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise((r) => server.close(r)));

beforeEach(() => {
  posts = 0;
});

test("503 overloaded: waits each Retry-After, then the request goes through", async () => {
  const waits: number[] = [];
  const client = createApiClient({ baseUrl: url, sleep: async (ms) => void waits.push(ms) });
  refusals = 2;
  await expect(client.submitTx({} as never)).resolves.toMatchObject({ status: "accepted" });
  expect(waits).toEqual([2_000, 2_000]);
  expect(posts).toBe(3);
});

test("past overloadWaitMs the 503 is thrown, with its Retry-After", async () => {
  const waits: number[] = [];
  const client = createApiClient({ baseUrl: url, sleep: async (ms) => void waits.push(ms), overloadWaitMs: 3_000 });
  refusals = 5;
  const e = await client.submitTx({} as never).catch((x: unknown) => x);
  expect(e).toBeInstanceOf(ApiError);
  expect(e).toMatchObject({ status: 503, code: "overloaded", retryAfterS: 2 });
  expect(waits).toEqual([2_000]);
  refusals = 0;
});

test("other errors are not retried", async () => {
  const client = createApiClient({ baseUrl: url, sleep: async () => undefined });
  await expect(client.submitOrder({} as never)).rejects.toMatchObject({ status: 429, code: "too_many_pending" });
  expect(posts).toBe(1);
});
