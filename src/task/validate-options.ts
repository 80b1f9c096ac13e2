/**
 * Checks `workerTask` options: every option has a rule here (type, range, enum). Returns the
 * problems as short phrases naming the option ("retryCount must be an integer >= 0, got -1");
 * discovery prefixes them with the file and the task name.
 */
import { MAX_POLL_TIMEOUT_MS, TASK_DEFAULTS, type WorkerTaskOptions } from "./options.ts";

/** Characters Conductor accepts in a task name or domain (letters, digits, `_`, `-`, `.`). */
export const NAME_PATTERN = /^[A-Za-z0-9_.-]+$/;

type Rule = (value: unknown) => string | undefined;

const show = (v: unknown): string => {
  if (typeof v === "string") return JSON.stringify(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
};

const int =
  (min: number, max = Number.MAX_SAFE_INTEGER): Rule =>
  (v) =>
    typeof v === "number" && Number.isInteger(v) && v >= min && v <= max
      ? undefined
      : `must be an integer ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`}, got ${show(v)}`;
const num =
  (min: number): Rule =>
  (v) =>
    typeof v === "number" && Number.isFinite(v) && v >= min ? undefined : `must be a number >= ${min}, got ${show(v)}`;
const oneOf =
  (...values: string[]): Rule =>
  (v) =>
    typeof v === "string" && values.includes(v) ? undefined : `must be one of ${values.join(", ")}, got ${show(v)}`;
const bool: Rule = (v) => (typeof v === "boolean" ? undefined : `must be true or false, got ${show(v)}`);
const text: Rule = (v) => (typeof v === "string" ? undefined : `must be a string, got ${show(v)}`);
const nonEmpty: Rule = (v) => (typeof v === "string" && v.trim() !== "" ? undefined : `must be a non-empty string, got ${show(v)}`);
const ident: Rule = (v) =>
  typeof v === "string" && NAME_PATTERN.test(v) ? undefined : `must use only letters, digits, "_", "-" and "." (no spaces), got ${show(v)}`;
const strings: Rule = (v) => (Array.isArray(v) && v.every((s) => typeof s === "string") ? undefined : `must be an array of strings, got ${show(v)}`);
const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) && [Object.prototype, null].includes(Object.getPrototypeOf(v));
const jsonObject: Rule = (v) => {
  if (!isPlainObject(v)) return `must be a plain object, got ${show(v)}`;
  try {
    JSON.stringify(v);
  } catch (e) {
    return `must be JSON-serialisable (${(e as Error).message})`;
  }
  return undefined;
};
const jsonSchema: Rule = (v) => {
  const base = jsonObject(v);
  if (base) return `must be a JSON Schema object, ${base.replace(/^must be /, "")}`;
  const t = (v as Record<string, unknown>).type;
  const types = ["object", "array", "string", "number", "integer", "boolean", "null"];
  if (t !== undefined && !(typeof t === "string" ? types.includes(t) : Array.isArray(t) && t.every((x) => types.includes(x as string)))) {
    return `must be a JSON Schema: "type" must be one of ${types.join(", ")}, got ${show(t)}`;
  }
  return undefined;
};
const email: Rule = (v) => (typeof v === "string" && /^[^\s@]+@[^\s@]+$/.test(v) ? undefined : `must be an e-mail address, got ${show(v)}`);

/** One rule per option. An option not listed here is unknown (a typo) and reported. */
export const OPTION_RULES: Record<keyof WorkerTaskOptions, Rule> = {
  name: ident,
  domain: ident,
  description: text,
  retryCount: int(0),
  retryLogic: oneOf("FIXED", "LINEAR_BACKOFF", "EXPONENTIAL_BACKOFF"),
  retryDelaySeconds: int(0),
  backoffScaleFactor: int(1),
  timeoutSeconds: int(0),
  timeoutPolicy: oneOf("RETRY", "TIME_OUT_WF", "ALERT_ONLY"),
  responseTimeoutSeconds: int(1),
  pollTimeoutSeconds: int(0),
  concurrentExecLimit: int(0),
  rateLimitPerFrequency: int(0),
  rateLimitFrequencyInSeconds: int(1),
  inputKeys: strings,
  outputKeys: strings,
  inputTemplate: jsonObject,
  ownerEmail: email,
  inputSchema: jsonSchema,
  outputSchema: jsonSchema,
  concurrency: int(1),
  pollIntervalMs: int(0),
  pollTimeoutMs: int(0, MAX_POLL_TIMEOUT_MS),
  workerId: nonEmpty,
  execTimeoutSeconds: num(0),
  leaseExtend: bool,
  checkpointIntervalMs: int(0),
  isolation: oneOf("none", "thread"),
  paused: bool,
};

function closest(word: string, candidates: string[]): string | undefined {
  const lc = word.toLowerCase();
  const dist = (a: string, b: string) => {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)] as number[]);
    for (let j = 1; j <= b.length; j++) d[0][j] = j;
    for (let i = 1; i <= a.length; i++)
      for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    return d[a.length][b.length];
  };
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const cl = c.toLowerCase();
    // A shared stem ("retrys" / "retryCount") counts as close.
    const dd = lc.length >= 4 && cl.startsWith(lc.slice(0, Math.max(4, lc.length - 1))) ? 1 : dist(lc, cl);
    if (dd < bestD) [best, bestD] = [c, dd];
  }
  return bestD <= Math.max(2, Math.floor(lc.length / 3)) ? best : undefined;
}

/** Every problem with `options`, each naming the option. Empty when valid. */
export function validateOptions(options: unknown): string[] {
  if (!isPlainObject(options) && !(typeof options === "object" && options !== null)) {
    return [`options must be an object like { name: "my_task" }, got ${show(options)}`];
  }
  const o = options as Record<string, unknown>;
  const problems: string[] = [];
  if (o.name === undefined) problems.push(`name is required (the Conductor task type, e.g. { name: "my_task" })`);
  const known = Object.keys(OPTION_RULES);
  for (const [key, value] of Object.entries(o)) {
    if (value === undefined) continue;
    const rule = (OPTION_RULES as Record<string, Rule>)[key];
    if (!rule) {
      const hint = closest(key, known);
      problems.push(`unknown option "${key}"${hint ? ` (did you mean ${hint}?)` : ""}`);
      continue;
    }
    const p = rule(value);
    if (p) problems.push(`${key} ${p}`);
  }
  const timeout = typeof o.timeoutSeconds === "number" ? o.timeoutSeconds : TASK_DEFAULTS.timeoutSeconds;
  const response = typeof o.responseTimeoutSeconds === "number" ? o.responseTimeoutSeconds : TASK_DEFAULTS.responseTimeoutSeconds;
  if (timeout > 0 && response > timeout) {
    problems.push(
      o.responseTimeoutSeconds === undefined
        ? `timeoutSeconds (${timeout}) is below the default responseTimeoutSeconds (${response}); set responseTimeoutSeconds <= timeoutSeconds`
        : `responseTimeoutSeconds (${response}) must be <= timeoutSeconds (${timeout}) when timeoutSeconds > 0`,
    );
  }
  if (typeof o.backoffScaleFactor === "number" && o.backoffScaleFactor !== 1 && (o.retryLogic ?? TASK_DEFAULTS.retryLogic) !== "LINEAR_BACKOFF") {
    // Conductor accepts it but ignores it; say so rather than silently do nothing.
    problems.push(`backoffScaleFactor only applies with retryLogic LINEAR_BACKOFF (retryLogic is ${show(o.retryLogic ?? TASK_DEFAULTS.retryLogic)})`);
  }
  return problems;
}
