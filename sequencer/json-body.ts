/**
 * JSON request bodies and responses on Node's own request and response objects, for the routes
 * that take a body. Written here rather than through express.json() because order and transaction
 * submission is the hot path: body-parser, type-is, raw-body and express' router were an eighth of
 * the main thread's time per order (bench/latency.ts under a CPU profile).
 *
 * The accepted set is body-parser's strict JSON with a size limit: a body must be declared as
 * `application/json` (optionally with a UTF-8 charset) and be a JSON object or array; an empty
 * body is `{}`. Content encodings other than identity are refused (415), as are bodies over the
 * limit (413, from Content-Length before reading when it is declared).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { ApiError } from "./errors";

/** Large enough for any tx or order (~600 bytes), small enough that parsing never costs much. */
export const BODY_LIMIT_BYTES = 16 * 1024;

const JSON_TYPE = /^application\/json\s*(;|$)/i;
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]+)"?/i;

/** Why a request cannot carry a JSON body, or null when it can (checked before reading). */
function refuseHeaders(req: IncomingMessage): ApiError | null {
  const hasBody = req.headers["transfer-encoding"] !== undefined || req.headers["content-length"] !== undefined;
  const type = req.headers["content-type"];
  if (!hasBody || type === undefined || !JSON_TYPE.test(type)) return new ApiError(415, "unsupported_media_type", "body must be application/json");
  const charset = CHARSET.exec(type)?.[1].toLowerCase();
  if (charset !== undefined && charset !== "utf-8" && charset !== "utf8") return new ApiError(415, "unsupported_media_type", `unsupported charset "${charset.toUpperCase()}": bodies are UTF-8`);
  const encoding = (req.headers["content-encoding"] ?? "identity").toLowerCase();
  if (encoding !== "identity") return new ApiError(415, "unsupported_media_type", `unsupported content encoding "${encoding}": send the body uncompressed`);
  const declared = Number(req.headers["content-length"]);
  if (declared > BODY_LIMIT_BYTES) return tooLarge();
  return null;
}

function tooLarge(): ApiError {
  return new ApiError(413, "payload_too_large", `body exceeds ${BODY_LIMIT_BYTES / 1024}kb`);
}

/**
 * Reads and parses the body. Rejects with an ApiError (415, 413, 400 malformed_json); on 413 the
 * rest of the body is discarded, so the connection stays usable.
 */
export function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const refused = refuseHeaders(req);
  if (refused) {
    req.resume();
    return Promise.reject(refused);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > BODY_LIMIT_BYTES) {
        done = true;
        chunks.length = 0;
        req.off("data", onData);
        req.resume();
        reject(tooLarge());
        return;
      }
      chunks.push(c);
    };
    req.on("data", onData);
    req.once("end", () => {
      if (done) return;
      done = true;
      try {
        resolve(parseStrictJson(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
      } catch (e) {
        reject(e);
      }
    });
    req.once("error", (e) => {
      if (done) return;
      done = true;
      reject(new ApiError(400, "malformed_http", `request body not received: ${e.message}`));
    });
  });
}

/** body-parser's strict mode: an object or an array (after an optional BOM and whitespace); empty is `{}`. */
export function parseStrictJson(raw: Buffer): unknown {
  let text = raw.toString("utf8");
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const first = /\S/.exec(text);
  if (!first) return {};
  if (first[0] !== "{" && first[0] !== "[") throw new ApiError(400, "malformed_json", `malformed JSON body: expected an object or an array, found ${JSON.stringify(first[0])} at position ${first.index}`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ApiError(400, "malformed_json", `malformed JSON body: ${(e as Error).message}`);
  }
}

/** A JSON response, as express' res.json writes it (UTF-8, with its length). */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}
