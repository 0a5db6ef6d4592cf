/**
 * The JSON body reader of the submission routes (sequencer/json-body.ts) on a real HTTP server:
 * what it accepts (body-parser's strict JSON, UTF-8, a size limit) and the error for everything else.
 */
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ApiError } from "../sequencer/errors";
import { BODY_LIMIT_BYTES, parseStrictJson, readJsonBody, sendJson } from "../sequencer/json-body";

let server: Server;
let port: number;

beforeAll(async () => {
  server = createServer((req, res) => {
    readJsonBody(req).then(
      (body) => sendJson(res, 200, { body }),
      (e: unknown) => {
        const err = e as ApiError;
        if (err.status === 413) res.setHeader("Connection", "close");
        sendJson(res, err.status, err.toJSON());
      },
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function post(body: string | Buffer, headers: Record<string, string>): Promise<{ status: number; json: { body?: unknown; error?: { code: string; message: string } }; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method: "POST", path: "/", headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text), headers: res.headers }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const JSON_TYPE = { "content-type": "application/json" };

describe("readJsonBody over HTTP", () => {
  test("an object, an array, a UTF-8 charset, a BOM, and an empty body ({})", async () => {
    expect((await post('{"a":1,"b":"é"}', JSON_TYPE)).json.body).toEqual({ a: 1, b: "é" });
    expect((await post("[1,2]", { "content-type": "application/json; charset=UTF-8" })).json.body).toEqual([1, 2]);
    expect((await post("\ufeff {}", { "content-type": "Application/JSON;charset=utf8" })).json.body).toEqual({});
    expect((await post("", JSON_TYPE)).json.body).toEqual({});
  });

  test("not JSON by its headers: 415", async () => {
    for (const headers of [{}, { "content-type": "text/plain" }, { "content-type": "application/jsonx" }, { "content-type": "application/json; charset=latin1" }, { ...JSON_TYPE, "content-encoding": "gzip" }]) {
      const r = await post("{}", headers as Record<string, string>);
      expect(r.status).toBe(415);
      expect(r.json.error?.code).toBe("unsupported_media_type");
    }
  });

  test("malformed or scalar JSON: 400 malformed_json", async () => {
    for (const body of ["{", '{"a":}', "42", '"x"', "null", "nul"]) {
      const r = await post(body, JSON_TYPE);
      expect(r.status).toBe(400);
      expect(r.json.error?.code).toBe("malformed_json");
    }
  });

  test("over the limit: 413 whether declared or streamed, and the server closes the connection", async () => {
    const big = JSON.stringify({ pad: "x".repeat(BODY_LIMIT_BYTES) });
    const declared = await post(big, JSON_TYPE);
    expect(declared.status).toBe(413);
    expect(declared.json.error?.code).toBe("payload_too_large");
    expect(declared.headers.connection).toBe("close");
    const chunked = await post(big, { ...JSON_TYPE, "transfer-encoding": "chunked" });
    expect(chunked.status).toBe(413);
    const fits = await post(JSON.stringify({ pad: "x".repeat(BODY_LIMIT_BYTES - 20) }), JSON_TYPE);
    expect(fits.status).toBe(200);
  });
});

describe("parseStrictJson", () => {
  test("whitespace before the value is allowed; the error names what it found", () => {
    expect(parseStrictJson(Buffer.from(" \n\t{\"x\":[]}"))).toEqual({ x: [] });
    expect(() => parseStrictJson(Buffer.from("  7"))).toThrow(/expected an object or an array, found "7" at position 2/);
  });
});
