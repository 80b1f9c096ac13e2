/**
 * `workflow search`: recent runs through Conductor's search (`GET /workflow/search`, newest
 * first), filtered by status, workflow name and age (`--since 1h`).
 */
import type { ConductorClient } from "../conductor/client.ts";
import type { WorkflowStatus } from "../conductor/types.ts";
import { num, type RunInfo } from "./status-tree.ts";

export const WORKFLOW_STATUSES: readonly WorkflowStatus[] = ["RUNNING", "COMPLETED", "FAILED", "TIMED_OUT", "TERMINATED", "PAUSED"];

export interface RunSearch {
  status?: string[];
  name?: string[];
  /** Only runs started within this many ms before now. */
  sinceMs?: number;
  /** Most results (default 20). */
  limit?: number;
}

export interface RunSummaryRow extends RunInfo {
  /** Reference names of the tasks that failed. */
  failedTasks: string[];
}

export class SearchUsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = "SearchUsageError";
  }
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "90s", "15m", "1h", "2d", "1w" → milliseconds. */
export function parseSince(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$/i.exec(text);
  if (!m) throw new SearchUsageError(`--since ${JSON.stringify(text)} is not a duration: write a number and a unit, like 30m, 1h, 2d (units s, m, h, d, w)`);
  return Math.round(Number(m[1]) * UNITS[m[2].toLowerCase()]);
}

/** Conductor's search query for these filters (names and statuses are checked: the query language has no quoting). */
export function searchQuery(s: RunSearch, now = Date.now()): string {
  const parts: string[] = [];
  const bad = (s.name ?? []).filter((n) => !/^[\w.-]+$/.test(n));
  if (bad.length) throw new SearchUsageError(`--name ${JSON.stringify(bad[0])}: a workflow name has only letters, digits, _, - and .`);
  const statuses = (s.status ?? []).map((x) => x.toUpperCase());
  const unknown = statuses.filter((x) => !WORKFLOW_STATUSES.includes(x as WorkflowStatus));
  if (unknown.length) throw new SearchUsageError(`--status ${unknown[0]} is not a workflow status: use one of ${WORKFLOW_STATUSES.join(", ")}`);
  if (s.name?.length) parts.push(`workflowType IN (${s.name.join(",")})`);
  if (statuses.length) parts.push(`status IN (${statuses.join(",")})`);
  if (s.sinceMs !== undefined) parts.push(`startTime > ${now - s.sinceMs}`);
  return parts.join(" AND ");
}

export async function searchRuns(client: ConductorClient, s: RunSearch, now = Date.now()): Promise<{ totalHits: number; runs: RunSummaryRow[] }> {
  const query = searchQuery(s, now);
  const res = await client.searchWorkflows({ query: query || undefined, freeText: "*", start: 0, size: s.limit ?? 20, sort: "startTime:DESC" });
  const runs = (res.results ?? []).map((r): RunSummaryRow => {
    const startTime = time(r.startTime);
    const endTime = time(r.endTime);
    const failed = r.failedReferenceTaskNames;
    const row: RunSummaryRow = {
      workflowId: String(r.workflowId),
      name: String(r.workflowType ?? r.workflowName ?? "?"),
      status: String(r.status),
      failedTasks: Array.isArray(failed) ? failed.map(String) : typeof failed === "string" && failed ? failed.split(",").filter(Boolean) : [],
    };
    if (typeof r.version === "number") row.version = r.version;
    if (startTime) row.startTime = startTime;
    if (endTime) row.endTime = endTime;
    if (typeof r.executionTime === "number" && r.executionTime > 0) row.durationMs = r.executionTime;
    else if (startTime) row.durationMs = (endTime || now) - startTime;
    if (typeof r.reasonForIncompletion === "string" && r.reasonForIncompletion) row.reason = r.reasonForIncompletion;
    return row;
  });
  // The server sorts when its index can; make sure the newest come first either way.
  runs.sort((a, b) => (b.startTime ?? 0) - (a.startTime ?? 0));
  return { totalHits: res.totalHits ?? runs.length, runs };
}

function time(v: unknown): number | undefined {
  const n = num(v);
  return n !== undefined && n > 0 ? n : undefined;
}
