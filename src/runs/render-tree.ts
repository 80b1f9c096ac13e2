/**
 * A run tree (status-tree.ts) as text lines for a terminal:
 *
 *   research_blog_post_ideas v1 3f2a…  COMPLETED  1.2 s
 *   ├─ research_fork  FORK_JOIN  COMPLETED
 *   │  ├─ branch 1
 *   │  │  └─ keywords (extract_keywords)  COMPLETED  worker host-1  45 ms
 *   ...
 * `paint` colours a status word (the CLI passes its colours; plain text by default).
 */
import type { RunTree, TaskNode } from "./status-tree.ts";

export type Paint = (status: string, text: string) => string;

const plain: Paint = (_s, t) => t;

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined) return "";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  if (m < 60) return `${m} min ${Math.round((ms % 60_000) / 1000)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function renderRunTree(tree: RunTree, paint: Paint = plain): string[] {
  const lines = [header(tree, paint)];
  renderChildren(
    tree.tasks.map((n) => ({ kind: "task" as const, node: n })),
    "",
    lines,
    paint,
  );
  if (tree.failure) {
    const f = tree.failure;
    lines.push(
      `${paint("FAILED", "failed:")} ${label(f.ref, f.name)} ${f.status}${f.reason ? `: ${f.reason}` : ""}${f.workflowId !== tree.workflowId ? ` (in sub-workflow ${f.workflowId})` : ""}`,
    );
  } else if (tree.reason && tree.status !== "COMPLETED" && tree.status !== "RUNNING") {
    lines.push(`${paint(tree.status, "reason:")} ${tree.reason}`);
  }
  return lines;
}

function header(t: RunTree, paint: Paint): string {
  return [`${t.name}${t.version !== undefined ? ` v${t.version}` : ""}`, t.workflowId, paint(t.status, t.status), formatDuration(t.durationMs)]
    .filter(Boolean)
    .join("  ");
}

type Item = { kind: "task"; node: TaskNode } | { kind: "group"; title: string; items: Item[] } | { kind: "workflow"; tree: RunTree };

function renderChildren(items: Item[], prefix: string, lines: string[], paint: Paint): void {
  items.forEach((item, i) => {
    const last = i === items.length - 1;
    const branch = prefix + (last ? "└─ " : "├─ ");
    const next = prefix + (last ? "   " : "│  ");
    if (item.kind === "group") {
      lines.push(`${branch}${item.title}`);
      renderChildren(item.items, next, lines, paint);
    } else if (item.kind === "workflow") {
      lines.push(`${branch}${header(item.tree, paint)}`);
      renderChildren(
        item.tree.tasks.map((n) => ({ kind: "task" as const, node: n })),
        next,
        lines,
        paint,
      );
    } else {
      lines.push(`${branch}${taskLine(item.node, paint)}`);
      renderChildren(childrenOf(item.node), next, lines, paint);
    }
  });
}

function childrenOf(n: TaskNode): Item[] {
  const tasks = (list: TaskNode[]): Item[] => list.map((node) => ({ kind: "task", node }));
  if (n.branches) return n.branches.map((b, i) => ({ kind: "group", title: `branch ${i + 1}`, items: tasks(b) }));
  if (n.iterations) return n.iterations.map((it) => ({ kind: "group", title: `iteration ${it.iteration}`, items: tasks(it.tasks) }));
  if (n.children) return tasks(n.children);
  if (n.subWorkflow) return [{ kind: "workflow", tree: n.subWorkflow }];
  return [];
}

function label(ref: string, name: string): string {
  return ref === name ? ref : `${ref} (${name})`;
}

function taskLine(n: TaskNode, paint: Paint): string {
  const parts = [label(n.ref, n.name)];
  if (n.type !== "SIMPLE" && n.type !== n.name) parts.push(n.type);
  parts.push(paint(n.status, n.status));
  if (n.case !== undefined) parts.push(`case ${JSON.stringify(n.case)}${n.defaultCase ? " (default)" : ""}`);
  if (n.iterations) parts.push(`${n.iterations.length} iteration${n.iterations.length === 1 ? "" : "s"}`);
  if (n.attempt > 1) parts.push(`attempt ${n.attempt}`);
  if (n.workerId) parts.push(`worker ${n.workerId}`);
  if (n.durationMs !== undefined) parts.push(formatDuration(n.durationMs));
  if (n.subWorkflowId && !n.subWorkflow) parts.push(`sub-workflow ${n.subWorkflowId}`);
  let line = parts.join("  ");
  if (n.reason && n.status !== "COMPLETED") line += `  — ${n.reason}`;
  return line;
}
