/**
 * `npm run corpus -- [--mirror DIR] [--rev REV] [--server-url URL] [--json FILE] [--keep]`
 *
 * Agreement of `idflow workflow validate` with the real Conductor on workflow definitions
 * written by others: every workflow definition found in a git checkout (bare or not) of
 * conductor-oss/conductor (test resources, e2e metadata, AI examples, the kitchensink, and the
 * ```json blocks of the docs), read with git, never copied into this repository. For each:
 *   - idflow's verdict for the server's own version (GET /api/admin/config), the corpus taken
 *     as its own project (every SIMPLE task and sub-workflow it names is assumed to exist);
 *   - the server's verdict: register the task definitions it needs (short timeouts, no retries),
 *     register the workflow under the name prefix `corpus_` (PUT /api/metadata/workflow), start
 *     it with an empty input, look at it after a moment (a start that fails on the definition:
 *     "Unknown evaluator", a missing join...), terminate it and delete what was registered.
 * False positive: idflow reports an error, the server accepts it and it starts.
 * False negative: idflow reports no error, the server refuses it or it fails at start.
 * Run it against a server of its own (`idflow server start --port 0`): it registers task
 * definitions by their corpus names. Prints a table; --json FILE writes every verdict.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { ConductorClient } from "../src/conductor/client.ts";
import { ConductorError } from "../src/conductor/errors.ts";
import type { TaskDef, WorkflowDef } from "../src/conductor/types.ts";
import { resolveServerUrl, projectPaths } from "../src/config.ts";
import { errorsOf } from "../src/workflows/issues.ts";
import type { LoadedWorkflow } from "../src/workflows/load.ts";
import { isObject, type Json } from "../src/workflows/model.ts";
import { parseJsonSource } from "../src/workflows/source.ts";
import { taskTypesOf } from "../src/workflows/task-types.ts";
import { validateWorkflows } from "../src/workflows/validate.ts";

/** Errors idflow reports on purpose where the server accepts: real bugs (Conductor passes null). */
const STRICTER_BY_DESIGN = ["unknown-ref", "ref-not-run", "ref-self", "unknown-task", "unknown-sub-workflow", "join-on"];

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const MIRROR = flag("mirror") ?? "/work/.mirror/conductor-oss+conductor/repo";
const REV = flag("rev") ?? "HEAD";
const PREFIX = "corpus_";
/** Where definitions written by others live in the Conductor repository. */
const SOURCES = [
  /^test-harness\/src\/test\/resources\/.*\.json$/,
  /^e2e\/src\/test\/resources\/metadata\/.*\.json$/,
  /^ai\/examples\/.*\.json$/,
  /^rest\/src\/main\/resources\/kitchensink\/.*\.json$/,
  /^docs\/.*\.(json|md)$/,
];

interface Entry {
  file: string;
  name: string;
  def: Json;
}

function git(...a: string[]): string {
  return execFileSync("git", ["-C", MIRROR, ...a], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
}

/** Workflow definitions in one file: a JSON object or list of them, or the ```json blocks of a Markdown page. */
function definitionsIn(file: string, text: string): Json[] {
  const chunks = file.endsWith(".md") ? [...text.matchAll(/```json\s*\n([\s\S]*?)```/g)].map((m) => m[1]) : [text];
  const out: Json[] = [];
  for (const chunk of chunks) {
    let v: unknown;
    try {
      v = JSON.parse(chunk);
    } catch {
      continue;
    }
    for (const d of Array.isArray(v) ? v : [v]) {
      if (isObject(d) && typeof d.name === "string" && Array.isArray(d.tasks) && d.tasks.length > 0 && d.tasks.every(isObject)) out.push(d);
    }
  }
  return out;
}

function collect(): Entry[] {
  const files = git("ls-tree", "-r", "--name-only", REV)
    .split("\n")
    .filter((f) => SOURCES.some((r) => r.test(f)));
  const entries: Entry[] = [];
  const seen = new Set<string>();
  for (const file of files) {
    for (const def of definitionsIn(file, git("show", `${REV}:${file}`))) {
      const key = JSON.stringify(def);
      if (seen.has(key)) continue; // the same definition in two places counts once
      seen.add(key);
      entries.push({ file, name: def.name as string, def });
    }
  }
  return entries;
}

/** Every task of a definition, nested ones included. */
function allTasks(def: Json): Json[] {
  const out: Json[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) {
      for (const x of v) walk(x);
      return;
    }
    if (!isObject(v)) return;
    if (typeof v.taskReferenceName === "string" || typeof v.type === "string") out.push(v);
    for (const k of ["forkTasks", "loopOver", "defaultCase"]) walk(v[k]);
    if (isObject(v.decisionCases)) Object.values(v.decisionCases).forEach(walk);
  };
  walk(def.tasks);
  return out;
}

type ServerVerdict = (
  | { kind: "refused"; reason: string }
  | { kind: "fails-at-start" | "fails-for-input-or-environment"; reason: string }
  | { kind: "runs" }
) & {
  /** The reference names of the tasks the run reached (left out: it did not start). */
  reached?: Set<string>;
};

function failure(text: string): ServerVerdict {
  const reason = text.replace(/\s+/g, " ").slice(0, 400);
  return { kind: DEFINITION_FAILURES.some((r) => r.test(reason)) ? "fails-at-start" : "fails-for-input-or-environment", reason };
}

/**
 * Failures that come from the definition itself. Every other failure of a workflow started with
 * an empty input and null workers (a script reading an input that is not there, an HTTP call to
 * an unreachable host, a sub-workflow or queue this server does not have, a TERMINATE that ends
 * the workflow as designed) says nothing about the definition and is counted apart.
 */
const DEFINITION_FAILURES = [
  /Unknown evaluator|No evaluator registered/i,
  /cannot be cast to/i,
  /not followed by a join/i,
  /SyntaxError|Expected .* but found|<eval>:\d+:\d+ /i,
  /Invalid task specified/i,
  /Cannot find task by name/i,
];

/**
 * Let the workflow run for a moment, completing every task a worker would get (its user tasks)
 * with an empty output, so that tasks after the first are reached too.
 */
async function runWithNullWorkers(client: ConductorClient, id: string, userTasks: Set<string>): Promise<Awaited<ReturnType<ConductorClient["getWorkflow"]>>> {
  const until = Date.now() + 2500;
  let wf = await client.getWorkflow(id, true);
  while (Date.now() < until && wf.status === "RUNNING") {
    const waiting = new Set(
      (wf.tasks ?? []).filter((t) => t.status === "SCHEDULED" && userTasks.has(String(t.taskDefName ?? t.taskType))).map((t) => String(t.taskType)),
    );
    for (const type of waiting) {
      for (const task of await client.batchPoll(type, { count: 5, timeoutMs: 100, workerId: "corpus" })) {
        await client
          .updateTask({ taskId: task.taskId, workflowInstanceId: task.workflowInstanceId, status: "COMPLETED", outputData: {}, workerId: "corpus" } as never)
          .catch(() => {});
      }
    }
    await new Promise((r) => setTimeout(r, waiting.size ? 50 : 250));
    wf = await client.getWorkflow(id, true);
  }
  return wf;
}

async function serverVerdict(client: ConductorClient, e: Entry, version: string): Promise<ServerVerdict> {
  const known = taskTypesOf(version);
  const def = structuredClone(e.def) as unknown as WorkflowDef;
  def.name = `${PREFIX}${e.name}`;
  // Task definitions the workflow needs: SIMPLE tasks and tasks of types the server does not know.
  const names = new Set(
    allTasks(e.def)
      .filter((t) => typeof t.name === "string" && (t.type === undefined || t.type === "SIMPLE" || !known.has(String(t.type))))
      .map((t) => t.name as string),
  );
  const missing: TaskDef[] = [];
  for (const name of names)
    if (!(await client.getTaskDef(name)))
      missing.push({ name, retryCount: 0, timeoutSeconds: 30, responseTimeoutSeconds: 5, ownerEmail: "corpus@example.com" } as TaskDef);
  if (missing.length) await client.registerTaskDefs(missing);
  try {
    try {
      const res = await client.upsertWorkflowDefs([def]);
      const failed = Object.values(res.bulkErrorResults ?? {});
      if (failed.length) return { kind: "refused", reason: String(failed[0]) };
    } catch (err) {
      if (err instanceof ConductorError && err.status !== undefined && err.status < 500) return { kind: "refused", reason: describe(err) };
      throw err;
    }
    let id: string;
    try {
      id = await client.startWorkflow(def.name, {}, { version: def.version ?? 1 });
    } catch (err) {
      if (err instanceof ConductorError && err.status !== undefined) return failure(describe(err));
      throw err;
    }
    const wf = await runWithNullWorkers(client, id, names);
    if (wf.status === "RUNNING" || wf.status === "PAUSED") await client.terminateWorkflow(id, "corpus check").catch(() => {});
    const reached = new Set((wf.tasks ?? []).map((t) => String(t.referenceTaskName).replace(/__\d+$/, "")));
    if (wf.status === "FAILED" || wf.status === "TERMINATED") {
      // A task's own reason says more than the workflow's ("Task … failed with status: FAILED and reason: …").
      const reasons = [
        (wf as { reasonForIncompletion?: string }).reasonForIncompletion,
        ...(wf.tasks ?? []).map((t) => (t as { reasonForIncompletion?: string }).reasonForIncompletion),
      ];
      return { ...failure(reasons.filter(Boolean).join(" / ") || wf.status), reached };
    }
    return { kind: "runs", reached };
  } finally {
    await client.deleteWorkflowDef(def.name, def.version ?? 1).catch(() => {});
    for (const t of missing) await client.deleteTaskDef(t.name).catch(() => {});
  }
}

function describe(err: ConductorError): string {
  const v = err.validationErrors.map((x) => x.message).join("; ");
  return (v || err.serverMessage || err.message).replace(/\s+/g, " ").slice(0, 300);
}

/** The reference name of the innermost task at a JSON pointer (undefined outside tasks). */
function refAt(def: Json, pointer: string): string | undefined {
  let node: unknown = def;
  let ref: string | undefined;
  for (const seg of pointer.split("/").slice(1)) {
    node = Array.isArray(node) ? node[Number(seg)] : isObject(node) ? node[seg.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined;
    if (isObject(node) && typeof node.taskReferenceName === "string") ref = node.taskReferenceName;
  }
  return ref;
}

function idflowVerdict(e: Entry, all: Entry[], version: string): { ok: boolean; rules: string[]; messages: string[]; refs: Array<string | undefined> } {
  const text = JSON.stringify(e.def, null, 2);
  const { source } = parseJsonSource(e.file, e.file, text);
  const wf: LoadedWorkflow = { def: source.value as WorkflowDef, source, root: MIRROR };
  // The corpus as the project: its SIMPLE tasks have workers, the sub-workflows it names exist.
  const tasks = allTasks(e.def);
  const knownTasks = tasks.filter((t) => t.type === undefined || t.type === "SIMPLE").map((t) => String(t.name));
  const subs = tasks.flatMap((t) => (isObject(t.subWorkflowParam) && typeof t.subWorkflowParam.name === "string" ? [t.subWorkflowParam.name] : []));
  const issues = validateWorkflows([wf], {
    knownTasks,
    config: { externalTasks: [], externalWorkflows: [...subs, ...all.map((x) => x.name)] },
    target: { version, source: "server", reason: "corpus" },
  });
  const errors = errorsOf(issues);
  return {
    ok: errors.length === 0,
    rules: [...new Set(errors.map((i) => i.rule))],
    messages: errors.map((i) => `${i.pointer}: ${i.message}`),
    refs: errors.map((i) => refAt(e.def, i.pointer)),
  };
}

const paths = projectPaths({});
const client = new ConductorClient({ serverUrl: flag("server-url") ?? resolveServerUrl({}, paths).url });
const version = await client.serverVersion();
if (!version) {
  console.error(`no Conductor answers at ${client.baseUrl}: start one (idflow server start --port 0) and pass --server-url`);
  process.exit(1);
}
const entries = collect();
console.error(`${entries.length} workflow definitions from ${MIRROR} at ${REV}; server ${client.baseUrl} is Conductor ${version}`);
const rows: Array<Entry & { idflow: ReturnType<typeof idflowVerdict>; server: ServerVerdict; verdict: string }> = [];
for (const e of entries) {
  const idflow = idflowVerdict(e, entries, version);
  const server = await serverVerdict(client, e, version);
  const serverOk = server.kind === "runs" || server.kind === "fails-for-input-or-environment";
  const byDesign = !idflow.ok && idflow.rules.every((r) => STRICTER_BY_DESIGN.includes(r));
  // idflow's errors are all about tasks the run never reached: the server's verdict says nothing about them.
  const unreached = !idflow.ok && serverOk && server.reached !== undefined && idflow.refs.every((r) => r !== undefined && !server.reached!.has(r));
  const verdict =
    idflow.ok === serverOk
      ? serverOk
        ? "agree: valid"
        : "agree: invalid"
      : idflow.ok
        ? `false negative (${server.kind})`
        : byDesign
          ? "stricter by design"
          : unreached
            ? "unverified (task not reached)"
            : "false positive";
  rows.push({ ...e, idflow, server, verdict });
  if (!verdict.startsWith("agree")) {
    console.error(
      `${verdict}: ${e.file} "${e.name}"\n    idflow: ${idflow.ok ? "no error" : idflow.messages.join(" | ")}\n    server: ${server.kind}${"reason" in server ? `: ${server.reason}` : ""}`,
    );
  }
}
client.close();
const count = (p: (r: (typeof rows)[number]) => boolean) => rows.filter(p).length;
const summary = {
  date: new Date().toISOString(),
  conductor: version,
  definitions: rows.length,
  agree: count((r) => r.verdict.startsWith("agree")),
  agreeValid: count((r) => r.verdict === "agree: valid"),
  agreeInvalid: count((r) => r.verdict === "agree: invalid"),
  falsePositives: count((r) => r.verdict === "false positive"),
  stricterByDesign: count((r) => r.verdict === "stricter by design"),
  unverifiedNotReached: count((r) => r.verdict === "unverified (task not reached)"),
  serverFailsForInputOrEnvironment: count((r) => r.server.kind === "fails-for-input-or-environment"),
  falseNegativesRefused: count((r) => r.verdict === "false negative (refused)"),
  falseNegativesFailsAtStart: count((r) => r.verdict === "false negative (fails-at-start)"),
};
console.log(JSON.stringify(summary, null, 2));
const out = flag("json");
if (out)
  writeFileSync(
    out,
    `${JSON.stringify({ summary, rows: rows.map(({ def: _def, server: { reached: _r, ...server }, ...r }) => ({ ...r, server })) }, null, 2)}\n`,
  );
