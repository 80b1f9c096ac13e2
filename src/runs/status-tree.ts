/**
 * A workflow run as a tree: the definition's structure (forks with their branches, SWITCH with
 * the case taken, DO_WHILE iterations, sub-workflows nested) filled with what really ran (each
 * task's status, worker, attempt, duration and failure reason). Built from
 * `GET /workflow/{id}?includeTasks=true`, whose answer carries the definition it ran with; tasks
 * the definition does not explain (dynamic ones) are kept, in the order they ran.
 */
import type { ConductorClient } from "../conductor/client.ts";
import type { Task, Workflow, WorkflowTask } from "../conductor/types.ts";

export interface TaskNode {
  /** Reference name as run (inside a DO_WHILE it carries the iteration: `body__2`). */
  ref: string;
  /** The task's name in the definition. */
  name: string;
  /** The definition's type (SIMPLE, FORK_JOIN, SWITCH, DO_WHILE, SUB_WORKFLOW, ...). */
  type: string;
  /** Status of the last attempt. */
  status: string;
  taskId: string;
  workerId?: string;
  /** The last attempt's number (1 = first try). */
  attempt: number;
  /** How many attempts ran (retries included). */
  attempts: number;
  /** From start to end (or to now while it runs); absent when it has not started. */
  durationMs?: number;
  /** Why it failed (the last attempt's reasonForIncompletion). */
  reason?: string;
  /** FORK_JOIN / FORK_JOIN_DYNAMIC: one list of nodes per branch. */
  branches?: TaskNode[][];
  /** SWITCH: the value the expression gave, and the tasks of the case it chose in `children`. */
  case?: string;
  /** SWITCH: true when no case matched `case` and the default case ran. */
  defaultCase?: boolean;
  children?: TaskNode[];
  /** DO_WHILE: the body of each iteration. */
  iterations?: Array<{ iteration: number; tasks: TaskNode[] }>;
  /** SUB_WORKFLOW: the child run (when it could be read). */
  subWorkflow?: RunTree;
  subWorkflowId?: string;
}

export interface Failure {
  workflowId: string;
  ref: string;
  name: string;
  taskId: string;
  status: string;
  reason?: string;
}

/** What identifies a run and how it went: shared by the tree and the search rows. */
export interface RunInfo {
  workflowId: string;
  name: string;
  version?: number;
  status: string;
  startTime?: number;
  endTime?: number;
  durationMs?: number;
  reason?: string;
}

export interface RunTree extends RunInfo {
  /** The task that made the run fail (the deepest, sub-workflows included), when one did. */
  failure?: Failure;
  tasks: TaskNode[];
}

/** Task statuses that end a task without success. */
const FAILED_TASK = new Set(["FAILED", "FAILED_WITH_TERMINAL_ERROR", "TIMED_OUT"]);
/** How deep sub-workflows are read. */
export const MAX_SUBWORKFLOW_DEPTH = 5;

/** Read a run and its sub-workflows (up to MAX_SUBWORKFLOW_DEPTH levels) and build its tree. */
export async function loadRunTree(client: ConductorClient, workflowId: string, now = Date.now(), depth = 0): Promise<RunTree> {
  const wf = await client.getWorkflow(workflowId, true);
  const subs = new Map<string, RunTree>();
  if (depth < MAX_SUBWORKFLOW_DEPTH) {
    const ids = (wf.tasks ?? []).map(subWorkflowIdOf).filter((id): id is string => !!id);
    const trees = await Promise.all(ids.map((id) => loadRunTree(client, id, now, depth + 1).catch(() => undefined)));
    for (const [i, id] of ids.entries()) if (trees[i]) subs.set(id, trees[i]!);
  }
  return buildRunTree(wf, subs, now);
}

/** The tree of one workflow execution (with tasks); `subs` holds the sub-workflow trees by id. */
export function buildRunTree(wf: Workflow, subs: Map<string, RunTree> = new Map(), now = Date.now()): RunTree {
  const tasks = [...(wf.tasks ?? [])].sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
  const byRef = new Map<string, Task[]>();
  for (const t of tasks) {
    const ref = t.referenceTaskName ?? t.taskId;
    const list = byRef.get(ref) ?? [];
    list.push(t);
    byRef.set(ref, list);
  }
  const used = new Set<string>();
  const def = (wf.workflowDefinition as { tasks?: WorkflowTask[] } | undefined)?.tasks ?? [];

  const node = (defTask: WorkflowTask | undefined, ref: string, suffix: string): TaskNode | undefined => {
    const runs = byRef.get(ref);
    if (!runs?.length) return undefined;
    used.add(ref);
    const last = runs[runs.length - 1];
    const type = String(defTask?.type ?? (last.workflowTask as { type?: string } | undefined)?.type ?? last.taskType);
    const n: TaskNode = {
      ref,
      name: String(defTask?.name ?? last.taskDefName ?? last.taskType),
      type,
      status: String(last.status ?? "SCHEDULED"),
      taskId: last.taskId,
      attempt: (last.retryCount ?? 0) + 1,
      attempts: runs.length,
    };
    if (last.workerId) n.workerId = last.workerId;
    const start = Number(last.startTime ?? 0);
    const end = Number(last.endTime ?? 0);
    if (start > 0) n.durationMs = Math.max(0, (end > 0 ? end : now) - start);
    if (last.reasonForIncompletion) n.reason = last.reasonForIncompletion;
    if (!defTask) return n;

    if (type === "FORK_JOIN") {
      const forks = (defTask.forkTasks as WorkflowTask[][] | undefined) ?? [];
      n.branches = forks.map((branch) => walk(branch, suffix));
    } else if (type === "FORK_JOIN_DYNAMIC") {
      const forked = (last.inputData?.forkedTasks as string[] | undefined) ?? [];
      n.branches = forked.map((r) => {
        const child = node(undefined, r, "");
        return child ? [child] : [];
      });
    } else if (type === "SWITCH" || type === "DECISION") {
      const out = last.outputData ?? {};
      const taken = Array.isArray(out.evaluationResult)
        ? String(out.evaluationResult[0])
        : out.selectedCase !== undefined
          ? String(out.selectedCase)
          : undefined;
      const cases = (defTask.decisionCases as Record<string, WorkflowTask[]> | undefined) ?? {};
      if (taken !== undefined) {
        const matched = Object.hasOwn(cases, taken);
        n.case = taken;
        if (!matched) n.defaultCase = true;
        n.children = walk(matched ? cases[taken] : ((defTask.defaultCase as WorkflowTask[] | undefined) ?? []), suffix);
      }
    } else if (type === "DO_WHILE") {
      const body = (defTask.loopOver as WorkflowTask[] | undefined) ?? [];
      const count = Number(last.iteration ?? 0);
      n.iterations = [];
      for (let i = 1; i <= count; i++) n.iterations.push({ iteration: i, tasks: walk(body, `${suffix}__${i}`) });
    } else if (type === "SUB_WORKFLOW") {
      const id = subWorkflowIdOf(last);
      if (id) {
        n.subWorkflowId = id;
        const sub = subs.get(id);
        if (sub) n.subWorkflow = sub;
      }
    }
    return n;
  };
  const walk = (list: WorkflowTask[], suffix: string): TaskNode[] => {
    const out: TaskNode[] = [];
    for (const d of list) {
      const n = node(d, d.taskReferenceName + suffix, suffix);
      if (n) out.push(n);
    }
    return out;
  };

  const top = walk(def, "");
  // Whatever the definition does not explain (dynamic tasks, nested loops), in the order it ran.
  for (const t of tasks) {
    const ref = t.referenceTaskName ?? t.taskId;
    if (used.has(ref)) continue;
    const n = node(t.workflowTask as WorkflowTask | undefined, ref, "");
    if (n) top.push(n);
  }

  const startTime = num(wf.startTime);
  const endTime = num(wf.endTime);
  const tree: RunTree = {
    workflowId: wf.workflowId,
    name: String(wf.workflowName ?? wf.workflowType ?? (wf.workflowDefinition as { name?: string } | undefined)?.name ?? "?"),
    status: wf.status,
    tasks: top,
  };
  const version = num(wf.workflowVersion ?? wf.version);
  if (version !== undefined) tree.version = version;
  if (startTime) tree.startTime = startTime;
  if (endTime) tree.endTime = endTime;
  if (startTime) tree.durationMs = Math.max(0, (endTime || now) - startTime);
  if (wf.reasonForIncompletion) tree.reason = wf.reasonForIncompletion;
  const failure = findFailure(tree);
  if (failure) tree.failure = failure;
  return tree;
}

/** The task that failed the run: the last failed node in run order, looking into a failed sub-workflow first. */
export function findFailure(tree: RunTree): Failure | undefined {
  if (tree.status === "RUNNING" || tree.status === "COMPLETED" || tree.status === "PAUSED") return undefined;
  let found: Failure | undefined;
  const visit = (nodes: TaskNode[]) => {
    for (const n of nodes) {
      if (n.subWorkflow?.failure && FAILED_TASK.has(n.status)) found = n.subWorkflow.failure;
      else if (FAILED_TASK.has(n.status))
        found = { workflowId: tree.workflowId, ref: n.ref, name: n.name, taskId: n.taskId, status: n.status, ...(n.reason ? { reason: n.reason } : {}) };
      for (const b of n.branches ?? []) visit(b);
      if (n.children) visit(n.children);
      for (const it of n.iterations ?? []) visit(it.tasks);
    }
  };
  visit(tree.tasks);
  return found;
}

/** Every node of a tree, depth first (sub-workflows not included). */
export function allNodes(nodes: TaskNode[]): TaskNode[] {
  const out: TaskNode[] = [];
  const visit = (list: TaskNode[]) => {
    for (const n of list) {
      out.push(n);
      for (const b of n.branches ?? []) visit(b);
      if (n.children) visit(n.children);
      for (const it of n.iterations ?? []) visit(it.tasks);
    }
  };
  visit(nodes);
  return out;
}

function subWorkflowIdOf(t: Task): string | undefined {
  const id = (t.subWorkflowId as string | undefined) ?? (t.outputData?.subWorkflowId as string | undefined);
  return typeof id === "string" && id ? id : undefined;
}

/** A number, or a time as Conductor sends it (epoch ms as a number or string, or an ISO date from the search index). */
export function num(v: unknown): number | undefined {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && v) {
    const n = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
    if (Number.isFinite(n)) return n;
  }
  return undefined;
}
