/**
 * A problem found in a workflow (or the project config): where it is (file, JSON pointer,
 * line:column), what is wrong, and what to do. Errors stop an upload; warnings do not.
 */

export type Severity = "error" | "warning";

export interface Issue {
  severity: Severity;
  /** A short stable rule id, e.g. "unknown-task-type", for editors and tests. */
  rule: string;
  /** The file at fault, relative to the project root (POSIX separators). */
  file: string;
  /** JSON pointer inside the file ("" for the whole document), e.g. "/tasks/2/type". */
  pointer: string;
  /** 1-based line and column of the pointer's node (or its nearest existing parent). */
  line?: number;
  column?: number;
  /** What is wrong and what was expected. */
  message: string;
  /** What to do about it. */
  hint?: string;
}

/** `workflows/x/x.json:12:7 #/tasks/2/type: message (hint)` */
export function formatIssue(issue: Issue): string {
  const at = issue.line !== undefined ? `${issue.file}:${issue.line}:${issue.column ?? 1}` : issue.file;
  const ptr = `#${issue.pointer}`;
  return `${at} ${ptr}: ${issue.message}${issue.hint ? `\n    fix: ${issue.hint}` : ""}`;
}

export function errorsOf(issues: Issue[]): Issue[] {
  return issues.filter((i) => i.severity === "error");
}

export function warningsOf(issues: Issue[]): Issue[] {
  return issues.filter((i) => i.severity === "warning");
}

/** Sort by file, then line, then column, keeping errors and warnings interleaved by place. */
export function sortIssues(issues: Issue[]): Issue[] {
  return [...issues].sort(
    (a, b) => a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0) || a.pointer.localeCompare(b.pointer),
  );
}

/** JSON pointer from path segments (RFC 6901 escaping). */
export function toPointer(path: Array<string | number>): string {
  return path.map((p) => `/${String(p).replace(/~/g, "~0").replace(/\//g, "~1")}`).join("");
}

/** Path segments from a JSON pointer. */
export function fromPointer(pointer: string): string[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

/** A close name from a list (edit distance), for "did you mean" hints. */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

/** Levenshtein distance between two strings. */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}
