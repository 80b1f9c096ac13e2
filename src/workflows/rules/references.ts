/**
 * `${...}` expressions: they name a task that exists and has run by then (real bugs even where
 * the server accepts them: Conductor passes null), workflow inputs the workflow declares, and
 * are written the way the server parses them.
 */
import { closest } from "../issues.ts";
import { collectRefs, isObject, segments, type Expression, type Path, type TaskNode, type WorkflowModel } from "../model.ts";
import type { Rule } from "../rule.ts";

/** Inputs the platform fills in without a declaration (the scheduler's start times). */
const INJECTED_INPUTS = new Set(["_executedTime", "_scheduledTime"]);

interface RefUse {
  expr: Expression;
  ref: string;
  /** false when the task exists but has not run when the expression is evaluated. */
  visible: boolean;
}

const cache = new WeakMap<WorkflowModel, RefUse[]>();

/** The task a `${...}` names, if it names one: neither `workflow...` nor an environment value. */
function refOf(e: Expression): string | undefined {
  const segs = segments(e.inner);
  const head = segs[0];
  if (!head || head === "workflow") return undefined;
  if (/^[A-Z][A-Z0-9_]*$/.test(head) && segs.length === 1) return undefined; // CPEWF_TASK_ID and environment values
  return head;
}

/** Every task reference in an expression, with whether that task has run by then (execution order). */
function refUses(model: WorkflowModel): RefUse[] {
  const hit = cache.get(model);
  if (hit) return hit;
  const visibleAt = new Map<TaskNode, Set<string>>();
  const byTask = new Map(model.tasks.map((n) => [n.task as unknown, n]));
  const walk = (list: unknown, path: Path, visibleIn: Set<string>): Set<string> => {
    const visible = new Set(visibleIn);
    const defined = new Set<string>();
    if (!Array.isArray(list)) return defined;
    list.forEach((task, i) => {
      if (!isObject(task)) return;
      const node = byTask.get(task);
      if (!node) return;
      const inner = new Set(visible);
      if (node.ref) inner.add(node.ref);
      const nested = new Set<string>();
      if (node.type === "DO_WHILE") {
        // Its inputs are evaluated on every iteration, with the loop body's outputs.
        visibleAt.set(node, new Set([...inner, ...collectRefs(task.loopOver, new Set())]));
        for (const r of walk(task.loopOver, [...path, i, "loopOver"], inner)) nested.add(r);
      } else {
        visibleAt.set(node, new Set(visible));
        if (node.type === "FORK_JOIN" && Array.isArray(task.forkTasks)) for (const b of task.forkTasks) for (const r of walk(b, [], inner)) nested.add(r);
        if (node.type === "SWITCH" || node.type === "DECISION") {
          if (isObject(task.decisionCases)) for (const c of Object.values(task.decisionCases)) for (const r of walk(c, [], inner)) nested.add(r);
          for (const r of walk(task.defaultCase, [], inner)) nested.add(r);
        }
      }
      for (const r of [...(node.ref ? [node.ref] : []), ...nested]) {
        visible.add(r);
        defined.add(r);
      }
    });
    return defined;
  };
  walk(model.def.tasks, ["tasks"], new Set());
  const uses: RefUse[] = [];
  for (const expr of model.expressions) {
    const ref = refOf(expr);
    if (!ref) continue;
    const visible = expr.owner ? (visibleAt.get(expr.owner)?.has(ref) ?? true) : true;
    uses.push({ expr, ref, visible });
  }
  cache.set(model, uses);
  return uses;
}

export const unknownRef: Rule = {
  id: "unknown-ref",
  severity: "error",
  description: "`${ref.output...}` names a task of this workflow (the server refuses unknown names in top-level tasks; elsewhere the value is null)",
  workflow(model, report) {
    for (const u of refUses(model)) {
      if (model.refs.has(u.ref)) continue;
      const near = closest(u.ref, model.refs.keys());
      report(
        u.expr.path,
        `${u.expr.text} refers to task "${u.ref}", but no task in this workflow has that taskReferenceName`,
        near ? `did you mean "${near}"?` : `use one of: ${[...model.refs.keys()].join(", ")}`,
      );
    }
  },
};

export const refSelf: Rule = {
  id: "ref-self",
  severity: "error",
  description: "a task's inputs do not read its own output (it has not run when they are computed)",
  fix: "use the output of an earlier task, or a workflow input",
  workflow(model, report) {
    for (const u of refUses(model)) {
      if (!u.visible && u.expr.owner?.ref === u.ref)
        report(u.expr.path, `${u.expr.text} refers to this task's own output: it has not run when its inputs are computed`);
    }
  },
};

export const refNotRun: Rule = {
  id: "ref-not-run",
  severity: "error",
  description: "`${ref.output...}` names a task that has run by then (not a later one, a parallel branch or another switch case)",
  fix: "move the reference after that task (for fork branches: after the JOIN), or take the value from a task that runs earlier",
  workflow(model, report) {
    for (const u of refUses(model)) {
      if (u.visible || !model.refs.has(u.ref) || u.expr.owner?.ref === u.ref) continue;
      report(u.expr.path, `${u.expr.text} refers to task "${u.ref}", which ${whyNotVisible(model, u.ref, u.expr.owner)}`);
    }
  },
};

function whyNotVisible(model: WorkflowModel, ref: string, user: TaskNode | undefined): string {
  const a = model.refs.get(ref)!.containers;
  const b = user?.containers ?? [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i].ref === b[i].ref && a[i].slot !== b[i].slot) {
      return a[i].type === "FORK_JOIN"
        ? `runs in another branch (${a[i].slot}) of FORK_JOIN "${a[i].ref}" in parallel, so its output is not there yet (Conductor would pass null)`
        : `is in another case (${a[i].slot}) of ${a[i].type} "${a[i].ref}": both never run in the same execution`;
    }
    if (a[i].ref !== b[i].ref) break;
  }
  return "has not run yet at this point (it comes later in the workflow)";
}

export const undeclaredInput: Rule = {
  id: "undeclared-input",
  severity: "warning",
  description: "`${workflow.input.x}` reads an input the workflow declares, when it declares any (Conductor never enforces the list); once per name",
  workflow(model, report) {
    if (!model.declaredInputs) return;
    const seen = new Set<string>();
    for (const e of model.expressions) {
      const segs = segments(e.inner);
      const name = segs[0] === "workflow" && segs[1] === "input" ? segs[2] : undefined;
      if (!name || model.declaredInputs.has(name) || INJECTED_INPUTS.has(name) || seen.has(name)) continue;
      seen.add(name);
      report(
        e.path,
        `${e.text} reads workflow input "${name}", which the workflow's "inputParameters" do not declare`,
        `add "${name}" to the workflow's "inputParameters" list`,
      );
    }
  },
};

export const expressionSpaces: Rule = {
  id: "expression-spaces",
  severity: "error",
  description: "no spaces just inside `${ ... }`: the server reads the name with the spaces and refuses it (in top-level tasks) or resolves nothing",
  fix: "write it without the spaces, e.g. ${workflow.input.x}",
  workflow(model, report) {
    for (const e of model.expressions) {
      if (e.inner.trim() !== "" && e.inner !== e.inner.trim())
        report(e.path, `${e.text} has spaces inside the braces: Conductor takes "${e.inner}" as the name`);
    }
  },
};

/** The expression with its quoted parts ('...' and "...") blanked out. */
const unquoted = (inner: string) => inner.replace(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"/g, "''");

export const expressionInnerSpaces: Rule = {
  id: "expression-inner-spaces",
  severity: "error",
  description:
    "no whitespace inside `${...}` outside quotes: the server refuses it in a top-level task's inputs (before 3.21.19 any whitespace; later it is not a JsonPath)",
  fix: "rename the key without spaces, or quote it in brackets: ${workflow.input['first name']} (Conductor 3.21.19+)",
  workflow(model, report) {
    for (const e of model.expressions) {
      if (e.owner?.topLevel && e.inner === e.inner.trim() && /\s/.test(unquoted(e.inner)))
        report(e.path, `${e.text} contains whitespace, which the server refuses at registration`);
    }
  },
};

export const expressionQuotedSpaces: Rule = {
  id: "expression-quoted-spaces",
  severity: "error",
  description: "before 3.21.19 the server refuses any whitespace inside `${...}` of a top-level task's inputs, quoted keys included",
  versions: { before: "3.21.19" },
  fix: "rename the key without spaces, or target Conductor 3.21.19+",
  workflow(model, report) {
    for (const e of model.expressions) {
      if (e.owner?.topLevel && e.inner === e.inner.trim() && /\s/.test(e.inner) && !/\s/.test(unquoted(e.inner)))
        report(e.path, `${e.text} contains whitespace (inside quotes), which Conductor ${model.target.version} refuses at registration`);
    }
  },
};

/**
 * Is a `${...}` path one Jayway JsonPath compiles (what the server checks from 3.21.19)? Only the
 * bracket parts can go wrong in practice: they hold a number, a quoted name, `*`, a slice, a
 * union of those, or a filter `?(...)`; an unquoted name such as `tasks[my_ref]` does not compile.
 */
function jsonPathProblem(inner: string): string | undefined {
  let depth = 0;
  let start = -1;
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i];
    if (c === "[") {
      if (depth === 0) start = i + 1;
      depth++;
    } else if (c === "]") {
      depth--;
      if (depth < 0) return "a ] without its [";
      if (depth === 0) {
        const part = inner.slice(start, i).trim();
        const item = String.raw`(?:-?\d+|'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|\*|-?\d*:-?\d*(?::-?\d*)?)`;
        if (!new RegExp(`^(?:\\?\\(.*\\)|${item}(?:\\s*,\\s*${item})*)$`).test(part)) return `[${part}] is neither an index, a quoted name, * nor a filter`;
      }
    }
  }
  return depth > 0 ? "a [ without its ]" : undefined;
}

export const expressionJsonPath: Rule = {
  id: "expression-jsonpath",
  severity: "error",
  description: "from 3.21.19 the server compiles each `${...}` of a top-level task's inputs as a JsonPath and refuses the workflow when it does not compile",
  versions: { from: "3.21.19" },
  fix: "quote names in brackets, e.g. ${workflow.input.tasks['my_ref'].output} (or use dots: ${my_ref.output.x})",
  workflow(model, report) {
    for (const e of model.expressions) {
      const problem = e.owner?.topLevel ? jsonPathProblem(e.inner) : undefined;
      if (problem) report(e.path, `${e.text} is not a JsonPath Conductor ${model.target.version} can compile (${problem}): the server refuses the workflow`);
    }
  },
};

export const REFERENCE_RULES: readonly Rule[] = [
  unknownRef,
  refSelf,
  refNotRun,
  undeclaredInput,
  expressionSpaces,
  expressionInnerSpaces,
  expressionQuotedSpaces,
  expressionJsonPath,
];
