/**
 * Per-worker overrides from the environment, in the official SDKs' spelling:
 *   CONDUCTOR_WORKER_<TASK>_<PROP>  over  CONDUCTOR_WORKER_ALL_<PROP>  over  the decorator.
 * <TASK> is the task name as written, or upper-cased with every non-alphanumeric as "_"
 * (CONDUCTOR_WORKER_SEND_EMAIL_CONCURRENCY for "send-email"). Props accept the JavaScript
 * SDK's and the Python SDK's names (CONCURRENCY or THREAD_COUNT, POLL_INTERVAL or
 * POLL_INTERVAL_MILLIS, ...).
 */
import { WORKER_SETTING_DECLS, type WorkerSettingDecl, type WorkerTaskOptions } from "../task/options.ts";
import { NAME_PATTERN } from "../task/validate-options.ts";

type Parsed = { ok: true; value: unknown } | { ok: false; expected: string };

const intParser =
  (min: number, max = Number.MAX_SAFE_INTEGER) =>
  (raw: string): Parsed => {
    const t = raw.trim();
    const n = /^-?\d+$/.test(t) ? Number(t) : NaN;
    return Number.isSafeInteger(n) && n >= min && n <= max
      ? { ok: true, value: n }
      : { ok: false, expected: max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}` };
  };
const numParser =
  (min: number) =>
  (raw: string): Parsed => {
    const t = raw.trim();
    const n = t === "" ? NaN : Number(t);
    return Number.isFinite(n) && n >= min ? { ok: true, value: n } : { ok: false, expected: `a number >= ${min}` };
  };
const boolParser = (raw: string): Parsed => {
  const t = raw.trim().toLowerCase();
  if (["true", "1", "yes", "on"].includes(t)) return { ok: true, value: true };
  if (["false", "0", "no", "off"].includes(t)) return { ok: true, value: false };
  return { ok: false, expected: "true or false" };
};
const identParser = (raw: string): Parsed => {
  const t = raw.trim();
  return NAME_PATTERN.test(t) ? { ok: true, value: t } : { ok: false, expected: 'letters, digits, "_", "-" and "." only' };
};
const textParser = (raw: string): Parsed => (raw.trim() ? { ok: true, value: raw.trim() } : { ok: false, expected: "a non-empty string" });

interface EnvProp {
  /** Suffixes accepted, first is the documented one. */
  names: string[];
  option: keyof WorkerTaskOptions;
  parse: (raw: string) => Parsed;
}

const parserFor = (d: WorkerSettingDecl): ((raw: string) => Parsed) => {
  switch (d.type) {
    case "integer":
      return intParser(d.minimum ?? Number.MIN_SAFE_INTEGER, d.maximum);
    case "number":
      return numParser(d.minimum ?? -Infinity);
    case "boolean":
      return boolParser;
    case "name":
      return identParser;
    case "string":
      return textParser;
  }
};

/** The overridable properties, derived from WORKER_SETTING_DECLS (src/task/options.ts). */
export const ENV_PROPS: EnvProp[] = (Object.entries(WORKER_SETTING_DECLS) as Array<[keyof typeof WORKER_SETTING_DECLS, WorkerSettingDecl]>).map(
  ([option, d]) => ({
    names: [...d.env],
    option,
    parse: parserFor(d),
  }),
);

/** The `<TASK>` spellings accepted for a task name: as written, and upper-cased with `_`. */
export function envTaskKeys(taskName: string): string[] {
  const upper = taskName.toUpperCase().replace(/[^A-Z0-9]/g, "_");
  return upper === taskName ? [taskName] : [taskName, upper];
}

export interface EnvOverrideResult {
  /** The decorator options with the overrides merged in. */
  options: WorkerTaskOptions;
  /** Which option came from which variable (for `worker list --json`). */
  applied: Record<string, string>;
  /** Variables with a bad value: "CONDUCTOR_WORKER_greet_CONCURRENCY must be an integer >= 1, got \"abc\"". */
  errors: string[];
}

/** Merge CONDUCTOR_WORKER_<TASK>_<PROP> and CONDUCTOR_WORKER_ALL_<PROP> over `options`. */
export function applyEnvOverrides(options: WorkerTaskOptions, env: NodeJS.ProcessEnv = process.env): EnvOverrideResult {
  const out: WorkerTaskOptions = { ...options };
  const applied: Record<string, string> = {};
  const errors: string[] = [];
  const scopes = [...envTaskKeys(options.name), "ALL"];
  for (const prop of ENV_PROPS) {
    let found: { variable: string; raw: string } | undefined;
    outer: for (const scope of scopes) {
      for (const suffix of prop.names) {
        const variable = `CONDUCTOR_WORKER_${scope}_${suffix}`;
        const raw = env[variable];
        if (raw !== undefined && raw !== "") {
          found = { variable, raw };
          break outer;
        }
      }
    }
    if (!found) continue;
    const parsed = prop.parse(found.raw);
    if (parsed.ok) {
      (out as unknown as Record<string, unknown>)[prop.option] = parsed.value;
      applied[prop.option] = found.variable;
    } else {
      errors.push(`${found.variable} must be ${parsed.expected}, got ${JSON.stringify(found.raw)}`);
    }
  }
  return { options: out, applied, errors };
}

/** The CONDUCTOR_WORKER_* variables set in `env`, read as task ("ALL" for every task), option and raw value (for `idflow config`). */
export function envWorkerVariables(env: NodeJS.ProcessEnv = process.env): Array<{ variable: string; task: string; option: string; raw: string }> {
  const out: Array<{ variable: string; task: string; option: string; raw: string }> = [];
  for (const [variable, raw] of Object.entries(env)) {
    if (!variable.startsWith("CONDUCTOR_WORKER_") || raw === undefined || raw === "") continue;
    const rest = variable.slice("CONDUCTOR_WORKER_".length);
    // The longest matching suffix wins (POLL_INTERVAL_MILLIS before INTERVAL-like shorter ones).
    const match = ENV_PROPS.flatMap((p) => p.names.map((n) => ({ n, option: p.option as string })))
      .filter(({ n }) => rest.endsWith(`_${n}`) && rest.length > n.length + 1)
      .sort((a, b) => b.n.length - a.n.length)[0];
    if (match) out.push({ variable, task: rest.slice(0, -(match.n.length + 1)), option: match.option, raw });
  }
  return out.sort((a, b) => a.variable.localeCompare(b.variable));
}
