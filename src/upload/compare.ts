/**
 * "Unchanged" means: what the server holds equals what idflow would send. The server adds
 * fields (createTime, defaults such as retryCount 3 or optional false), so the comparison
 * walks what we send, and accepts a field only the server has when it holds the value the
 * server fills in by itself (read from Conductor 3.21 and 3.32: see test/e2e/upload-*.test.ts,
 * which `npm test` runs on both lines).
 * Free-form maps (inputParameters, outputParameters, ...) must match exactly.
 */

export type DefKind = "taskDef" | "workflowDef";
type Ctx = DefKind | "workflowTask" | "cases" | "generic";

/** Bookkeeping fields the server sets on its own. */
const IGNORED = new Set(["createTime", "updateTime", "createdBy", "updatedBy", "ownerApp"]);

/** Values the server fills in when a field is left out (besides null, false, 0, "", [] and {}). */
const SERVER_DEFAULTS: Record<Ctx, Record<string, unknown>> = {
  taskDef: {
    retryCount: 3,
    timeoutPolicy: "TIME_OUT_WF",
    retryLogic: "FIXED",
    retryDelaySeconds: 60,
    responseTimeoutSeconds: 3600,
    rateLimitFrequencyInSeconds: 1,
    backoffScaleFactor: 1,
    // 3.32 adds this flag to every task definition, on by default (3.21 has no such field).
    taskStatusListenerEnabled: true,
  },
  workflowDef: { version: 1, schemaVersion: 2, restartable: true, timeoutPolicy: "ALERT_ONLY", enforceSchema: true },
  workflowTask: { type: "SIMPLE" },
  cases: {},
  generic: {},
};

/** Fields whose content is the user's data: compared exactly. */
const EXACT = new Set(["inputParameters", "outputParameters", "inputTemplate", "variables", "taskToDomain", "inputKeys", "outputKeys", "joinOn", "metadata"]);

function childCtx(ctx: Ctx, key: string): Ctx {
  if (ctx === "workflowDef" && key === "tasks") return "workflowTask";
  if (ctx === "workflowTask") {
    if (key === "forkTasks" || key === "loopOver" || key === "defaultCase" || key === "defaultExclusiveJoinTask") return "workflowTask";
    if (key === "decisionCases") return "cases";
  }
  if (ctx === "cases") return "workflowTask";
  return "generic";
}

/** True when the server's copy equals what we would send. */
export function sameDefinition(ours: unknown, theirs: unknown, kind: DefKind): boolean {
  return same(ours, theirs, kind);
}

function same(ours: unknown, theirs: unknown, ctx: Ctx): boolean {
  if (Array.isArray(ours)) {
    return Array.isArray(theirs) && ours.length === theirs.length && ours.every((v, i) => same(v, theirs[i], ctx));
  }
  if (isObject(ours)) {
    if (!isObject(theirs)) return false;
    for (const [k, v] of Object.entries(ours)) {
      if (v === undefined || IGNORED.has(k)) continue;
      if (EXACT.has(k) ? !deepEqual(v, theirs[k]) : !same(v, theirs[k], childCtx(ctx, k))) return false;
    }
    for (const [k, v] of Object.entries(theirs)) {
      if (k in ours && ours[k] !== undefined) continue;
      if (IGNORED.has(k)) continue;
      if (ctx === "cases") return false; // a case the server has and we do not
      if (!isServerDefault(v, SERVER_DEFAULTS[ctx][k])) return false;
    }
    return true;
  }
  return ours === theirs;
}

function isServerDefault(v: unknown, known: unknown): boolean {
  if (v === null || v === undefined) return true;
  if (known !== undefined) return deepEqual(v, known);
  if (v === false || v === 0 || v === "") return true;
  if (Array.isArray(v) && v.length === 0) return true;
  return isObject(v) && Object.keys(v).length === 0;
}

/** Structural equality, object key order ignored. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
