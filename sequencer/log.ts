/**
 * Structured logging: one JSON object per event. The sink has the same shape as circuits/compile's
 * LogFn so one sink can serve the whole node; `level` defaults to "info".
 */

export type LogLevel = "debug" | "info" | "warn" | "error";

/** Receives `{ level?, msg, ...fields }`. */
export type LogFn = (entry: object) => void;

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** JSON lines on stderr, dropping entries below `minLevel` (default "info"). */
export function jsonLogger(minLevel: LogLevel = "info", write: (line: string) => void = (l) => void process.stderr.write(l)): LogFn {
  return (entry: object): void => {
    const level = ((entry as { level?: LogLevel }).level ?? "info") as LogLevel;
    if ((RANK[level] ?? RANK.info) < RANK[minLevel]) return;
    write(JSON.stringify({ t: new Date().toISOString(), level, ...entry }, jsonReplacer) + "\n");
  };
}

export const silentLogger: LogFn = (): void => undefined;

/** bigint → decimal string, Error → {name, message}: so any field can be logged as is. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
