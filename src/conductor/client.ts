/**
 * The Conductor HTTP client: the only place in idflow that speaks HTTP to Conductor.
 * undici's low-level Pool (one keep-alive socket pool per client, reused across polls; no
 * redirects, no proxy), driven through its dispatch callbacks (Answer, below): per task it costs
 * less than Node's own http.request with a keep-alive agent (measured, docs/performance.md).
 */
import { Pool, type Dispatcher } from "undici";
import { normalizeServerUrl } from "../config.ts";
import { isExpiredTokenAnswer, KeySecretTokenSource, type TokenSource } from "./auth.ts";
import { ConductorError, describeValidationErrors } from "./errors.ts";
import type { BulkResponse, StartWorkflowOptions, Task, TaskDef, TaskExecLog, TaskResult, Workflow, WorkflowDef } from "./types.ts";

export interface ClientOptions {
  /** Base URL, with or without /api. */
  serverUrl: string;
  /** Orkes key and secret; exchanged for a token. */
  auth?: { keyId: string; keySecret: string };
  /** A token source of your own (takes precedence over auth). */
  tokenSource?: TokenSource;
  /** Per-request timeout in ms for ordinary calls (polls add their long-poll time). */
  timeoutMs?: number;
  /** Most sockets per host held by the keep-alive agent. */
  maxSockets?: number;
}

/**
 * What ends a request early: an AbortSignal, or anything with the few members of one a request
 * uses. The runtime's request timers (src/runtime/stall.ts) are one themselves, so the per-task
 * update needs no AbortController, no EventTarget and no closure of its own (docs/performance.md).
 */
export interface RequestSignal {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: "abort", listener: AbortListener, options?: { once?: boolean }): void;
  removeEventListener(type: "abort", listener: AbortListener): void;
}

/** An abort listener object (EventTarget's `handleEvent` form): the request's own handler, no closure per request. */
export interface AbortListener {
  handleEvent(): void;
}

interface RequestOptions {
  params?: Record<string, unknown>;
  data?: unknown;
  timeoutMs?: number;
  signal?: RequestSignal;
  headers?: Record<string, string>;
  /** Statuses that are not errors (besides 2xx). */
  accept?: number[];
}

export interface PollOptions {
  workerId?: string;
  domain?: string;
  /** How many tasks to take at most. */
  count?: number;
  /** Long-poll time on the server in ms (Conductor refuses over 5000). */
  timeoutMs?: number;
  signal?: RequestSignal;
  /** Client-side timeout of the request in ms (default: the long poll + 10 s; 0 = none, the caller's signal ends it). */
  requestTimeoutMs?: number;
}

/** Thrown by updateTaskV2 on servers that do not have /tasks/update-v2. */
export class UpdateV2Unsupported extends Error {
  constructor() {
    super("this Conductor has no /api/tasks/update-v2");
    this.name = "UpdateV2Unsupported";
  }
}

type Method = "GET" | "POST" | "PUT" | "DELETE";

/** A raw answer: status and body text (Conductor answers ids as text/plain; JSON is parsed by the caller). */
interface RawAnswer {
  status: number;
  text: string;
}

export class ConductorClient {
  readonly baseUrl: string;
  private readonly tokens?: TokenSource;
  private readonly origin: string;
  /** The base URL's path (e.g. "/conductor"), prefixed to every call's path. */
  private readonly prefix: string;
  /** Basic credentials written in the URL (user:pass@host), sent as Authorization. */
  private readonly basicAuth?: string;
  private readonly timeoutMs: number;
  private readonly maxSockets: number;
  private pool?: Pool;

  constructor(options: ClientOptions) {
    this.baseUrl = normalizeServerUrl(options.serverUrl);
    const url = new URL(this.baseUrl);
    this.origin = url.origin;
    this.prefix = url.pathname.replace(/\/+$/, "");
    if (url.username || url.password) {
      this.basicAuth = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString("base64")}`;
    }
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxSockets = options.maxSockets ?? 256;
    if (options.tokenSource) this.tokens = options.tokenSource;
    else if (options.auth) {
      this.tokens = new KeySecretTokenSource(async (path, body) => {
        try {
          return await this.send("POST", path, JSON.stringify(body), this.timeoutMs);
        } catch (err) {
          throw this.networkError(`POST ${path}`, err);
        }
      }, options.auth);
    }
  }

  /**
   * Close the keep-alive sockets (call when done so the process can exit). Calls still in
   * flight fail as unreachable; a later call opens new sockets.
   */
  close(): void {
    const pool = this.pool;
    this.pool = undefined;
    pool?.destroy().catch(() => {});
  }

  // ---------------------------------------------------------------- health & info

  /** GET /health: true when the server says it is healthy. Never throws on a bad answer. */
  async healthy(timeoutMs = 2000): Promise<boolean> {
    try {
      const data = await this.request<{ healthy?: boolean }>("GET", "/health", { timeoutMs });
      return data?.healthy === true;
    } catch {
      return false;
    }
  }

  /** The server's version: `GET /api/admin/config` → `version`, else /actuator/info; undefined when neither answers. */
  async serverVersion(timeoutMs = 3000): Promise<string | undefined> {
    try {
      const config = await this.request<{ version?: unknown }>("GET", "/api/admin/config", { timeoutMs });
      if (typeof config?.version === "string" && config.version) return config.version;
    } catch {
      // An older or secured server: try the actuator.
    }
    try {
      const info = await this.request<{ build?: { version?: string } }>("GET", "/actuator/info", { timeoutMs });
      return info?.build?.version;
    } catch {
      return undefined;
    }
  }

  // ---------------------------------------------------------------- metadata

  /** POST /metadata/taskdefs: create (or overwrite) several task definitions. */
  async registerTaskDefs(defs: TaskDef[]): Promise<void> {
    await this.request("POST", "/api/metadata/taskdefs", { data: defs });
  }

  /** PUT /metadata/taskdefs: create or overwrite one task definition. */
  async updateTaskDef(def: TaskDef): Promise<void> {
    await this.request("PUT", "/api/metadata/taskdefs", { data: def });
  }

  /** The task definition, or undefined when the server has none by that name. */
  async getTaskDef(name: string): Promise<TaskDef | undefined> {
    return this.orUndefined(() => this.request<TaskDef>("GET", `/api/metadata/taskdefs/${enc(name)}`));
  }

  async getTaskDefs(): Promise<TaskDef[]> {
    return (await this.request<TaskDef[]>("GET", "/api/metadata/taskdefs")) ?? [];
  }

  async deleteTaskDef(name: string): Promise<void> {
    await this.request("DELETE", `/api/metadata/taskdefs/${enc(name)}`);
  }

  /** PUT /metadata/workflow: upsert several workflow definitions. */
  async upsertWorkflowDefs(defs: WorkflowDef[]): Promise<BulkResponse> {
    return (
      (await this.request<BulkResponse>("PUT", "/api/metadata/workflow", { data: defs })) ?? {
        bulkSuccessfulResults: [],
        bulkErrorResults: {},
      }
    );
  }

  /** POST /metadata/workflow: create one; a ConductorError with status 409 if it exists. */
  async createWorkflowDef(def: WorkflowDef): Promise<void> {
    await this.request("POST", "/api/metadata/workflow", { data: def });
  }

  /** The workflow definition (latest version unless given), or undefined. */
  async getWorkflowDef(name: string, version?: number): Promise<WorkflowDef | undefined> {
    return this.orUndefined(() => this.request<WorkflowDef>("GET", `/api/metadata/workflow/${enc(name)}`, { params: { version } }));
  }

  /** Every workflow definition the server holds (all versions). */
  async getWorkflowDefs(): Promise<WorkflowDef[]> {
    return ((await this.request<WorkflowDef[]>("GET", "/api/metadata/workflow")) ?? []) as WorkflowDef[];
  }

  async deleteWorkflowDef(name: string, version: number): Promise<void> {
    await this.request("DELETE", `/api/metadata/workflow/${enc(name)}/${version}`);
  }

  // ---------------------------------------------------------------- workflows

  /** Starts a workflow and returns its id. */
  async startWorkflow(name: string, input: Record<string, unknown> = {}, opts: StartWorkflowOptions = {}): Promise<string> {
    const id = await this.request<string>("POST", `/api/workflow/${enc(name)}`, {
      data: input,
      params: { version: opts.version, correlationId: opts.correlationId, priority: opts.priority },
    });
    return String(id);
  }

  async getWorkflow(workflowId: string, includeTasks = true): Promise<Workflow> {
    return (await this.request<Workflow>("GET", `/api/workflow/${enc(workflowId)}`, { params: { includeTasks } }))!;
  }

  async terminateWorkflow(workflowId: string, reason?: string): Promise<void> {
    await this.request("DELETE", `/api/workflow/${enc(workflowId)}`, { params: { reason } });
  }

  async pauseWorkflow(workflowId: string): Promise<void> {
    await this.request("PUT", `/api/workflow/${enc(workflowId)}/pause`);
  }

  async resumeWorkflow(workflowId: string): Promise<void> {
    await this.request("PUT", `/api/workflow/${enc(workflowId)}/resume`);
  }

  async retryWorkflow(workflowId: string): Promise<void> {
    await this.request("POST", `/api/workflow/${enc(workflowId)}/retry`);
  }

  async restartWorkflow(workflowId: string): Promise<void> {
    await this.request("POST", `/api/workflow/${enc(workflowId)}/restart`);
  }

  /** PUT /workflow/decide/{id}: run the decider on a workflow now (what a task update does). */
  async decideWorkflow(workflowId: string): Promise<void> {
    await this.request("PUT", `/api/workflow/decide/${enc(workflowId)}`);
  }

  /** Ids of the workflows of this name the server holds as running (its pending set, not the search index). */
  async runningWorkflowIds(name: string): Promise<string[]> {
    return (await this.request<string[]>("GET", `/api/workflow/running/${enc(name)}`)) ?? [];
  }

  /** The names of every workflow definition (GET /metadata/workflow/names-and-versions). */
  async workflowNames(): Promise<string[]> {
    return Object.keys((await this.request<Record<string, unknown>>("GET", "/api/metadata/workflow/names-and-versions")) ?? {});
  }

  async searchWorkflows(q: { query?: string; freeText?: string; start?: number; size?: number; sort?: string } = {}): Promise<{
    totalHits: number;
    results: Array<Record<string, unknown>>;
  }> {
    return (await this.request("GET", "/api/workflow/search", { params: q })) as never;
  }

  // ---------------------------------------------------------------- tasks

  /** Batch long poll: up to `count` tasks, waiting at most `timeoutMs` on the server. */
  async batchPoll(taskType: string, opts: PollOptions = {}): Promise<Task[]> {
    const timeoutMs = Math.min(Math.max(opts.timeoutMs ?? 100, 0), 5000);
    const tasks = await this.request<Task[]>("GET", `/api/tasks/poll/batch/${enc(taskType)}`, {
      params: { workerid: opts.workerId, domain: opts.domain, count: opts.count ?? 1, timeout: timeoutMs },
      timeoutMs: opts.requestTimeoutMs ?? timeoutMs + 10_000,
      signal: opts.signal,
    });
    return Array.isArray(tasks) ? tasks : [];
  }

  /** Single poll: one task or undefined (204). */
  async poll(taskType: string, opts: Omit<PollOptions, "count" | "timeoutMs"> = {}): Promise<Task | undefined> {
    const task = await this.request<Task>("GET", `/api/tasks/poll/${enc(taskType)}`, {
      params: { workerid: opts.workerId, domain: opts.domain },
      signal: opts.signal,
    });
    return task && typeof task === "object" ? task : undefined;
  }

  /** POST /tasks: report a result (`json`: the result already serialised, when the caller has it). */
  updateTask(result: TaskResult, signal?: RequestSignal, json?: string): Promise<void> {
    return this.request("POST", "/api/tasks", { data: json ?? result, signal }).then(ignore);
  }

  /**
   * POST /tasks/update-v2: report a result and get the next task of the same type for this
   * worker (undefined when none). Throws UpdateV2Unsupported on servers without it.
   */
  async updateTaskV2(result: TaskResult, signal?: RequestSignal, requestTimeoutMs?: number, json?: string): Promise<Task | undefined> {
    try {
      const next = await this.request<Task>("POST", "/api/tasks/update-v2", { data: json ?? result, signal, timeoutMs: requestTimeoutMs });
      return next && typeof next === "object" && next.taskId ? next : undefined;
    } catch (err) {
      if (err instanceof ConductorError && (err.status === 405 || (err.status === 404 && !mentionsTask(err, result.taskId)))) {
        throw new UpdateV2Unsupported();
      }
      throw err;
    }
  }

  /**
   * POST /tasks/{workflowId}/{taskRefName}/{status}: update the workflow's pending (not yet
   * terminal) task with this reference name; the output is merged into the task's output.
   * Answers the task id, or undefined when there is no such pending task (the server then
   * answers 200 with an empty body, not a 404: seen on 3.21.14).
   */
  async updateTaskByRef(
    workflowId: string,
    taskRefName: string,
    status: TaskResult["status"],
    output: Record<string, unknown> = {},
    workerId?: string,
  ): Promise<string | undefined> {
    const id = await this.request<string>("POST", `/api/tasks/${enc(workflowId)}/${enc(taskRefName)}/${enc(status)}`, {
      data: output,
      params: { workerid: workerId },
    });
    return typeof id === "string" && id.trim() ? id.trim() : undefined;
  }

  async getTask(taskId: string): Promise<Task | undefined> {
    return this.orUndefined(() => this.request<Task>("GET", `/api/tasks/${enc(taskId)}`));
  }

  /** Add one line to a task's execution log. */
  async addTaskLog(taskId: string, line: string): Promise<void> {
    await this.request("POST", `/api/tasks/${enc(taskId)}/log`, { data: JSON.stringify(line) });
  }

  async getTaskLogs(taskId: string): Promise<TaskExecLog[]> {
    return (await this.request<TaskExecLog[]>("GET", `/api/tasks/${enc(taskId)}/log`)) ?? [];
  }

  /** How many tasks of this type wait in the queue. */
  async queueSize(taskType: string, domain?: string): Promise<number> {
    const n = await this.request<number>("GET", "/api/tasks/queue/size", { params: { taskType, domain } });
    return Number(n ?? 0);
  }

  async pollData(taskType: string): Promise<Array<Record<string, unknown>>> {
    return (await this.request("GET", "/api/tasks/queue/polldata", { params: { taskType } })) ?? [];
  }

  // ---------------------------------------------------------------- plumbing

  private async orUndefined<T>(call: () => Promise<T | undefined>): Promise<T | undefined> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof ConductorError && err.status === 404) return undefined;
      throw err;
    }
  }

  /**
   * One HTTP call; parses JSON bodies, maps every failure to ConductorError. Written with `then`
   * rather than as an async function: a worker makes one or two of these per task, and each async
   * layer and `await` is a promise more (and, with AsyncLocalStorage's hooks on, a hook call more)
   * on that path (docs/performance.md, "The runtime's own JavaScript, measured to 2%").
   */
  request<T = unknown>(method: Method, path: string, opts: RequestOptions = {}, retriedAuth = false): Promise<T | undefined> {
    if (!this.tokens) return this.exchange<T>(method, path, opts, retriedAuth, undefined);
    let token: Promise<string | undefined>;
    try {
      token = this.authToken();
    } catch (err) {
      return Promise.reject(err); // a token source of the caller's that throws: the call rejects, as any other failure
    }
    return token.then((t) => this.exchange<T>(method, path, opts, retriedAuth, t));
  }

  private exchange<T>(method: Method, path: string, opts: RequestOptions, retriedAuth: boolean, token: string | undefined): Promise<T | undefined> {
    let query: string;
    let data: string | undefined;
    try {
      query = queryString(opts.params);
      data = opts.data === undefined ? undefined : typeof opts.data === "string" ? opts.data : JSON.stringify(opts.data);
    } catch (err) {
      return Promise.reject(err); // as from the async function this was: a call never throws, it rejects
    }
    return this.send(method, query ? `${path}?${query}` : path, data, opts.timeoutMs ?? this.timeoutMs, opts.signal, token, opts.headers).then(
      (res) => this.answer<T>(method, path, opts, retriedAuth, res),
      (err) => {
        throw this.networkError(`${method} ${path}`, err, opts.signal);
      },
    );
  }

  /** The answer's value, or the ConductorError it stands for (a token the server found expired is renewed once, and the call made again). */
  private answer<T>(method: Method, path: string, opts: RequestOptions, retriedAuth: boolean, res: RawAnswer): T | undefined | Promise<T | undefined> {
    const body = parseBody(res.text);
    if (res.status >= 200 && res.status < 300) return (res.status === 204 ? undefined : body) as T | undefined;
    if (opts.accept?.includes(res.status)) return body as T;
    if (this.tokens && !retriedAuth && isExpiredTokenAnswer(res.status, body)) {
      return this.authToken(true).then(() => this.request<T>(method, path, opts, true));
    }
    throw httpError(`${method} ${path}`, res.status, body, this.baseUrl);
  }

  /**
   * The wire: one request on the keep-alive pool. `timeoutMs` bounds the wait for the answer's
   * headers and every pause in its body (0 = none; the caller's signal ends it). Never throws:
   * a failure is the promise's rejection.
   */
  private send(
    method: Method,
    pathAndQuery: string,
    data: string | undefined,
    timeoutMs: number,
    signal?: RequestSignal,
    token?: string,
    extra?: Record<string, string>,
  ): Promise<RawAnswer> {
    return new Promise<RawAnswer>((resolve, reject) => {
      const headers: string[] = ["accept", "application/json, text/plain, */*"];
      if (data !== undefined) headers.push("content-type", "application/json");
      if (this.basicAuth) headers.push("authorization", this.basicAuth);
      if (token) headers.push("x-authorization", token);
      if (extra) for (const k in extra) headers.push(k, extra[k]);
      this.pool ??= new Pool(this.origin, { connections: this.maxSockets, keepAliveTimeout: 10_000 });
      const answer = new Answer(resolve, reject, signal);
      this.pool.dispatch({ method, path: this.prefix + pathAndQuery, headers, body: data, headersTimeout: timeoutMs, bodyTimeout: timeoutMs }, answer);
    });
  }

  /** A token from the token source (a network failure on /api/token reads like any other and never carries the secret). */
  private authToken(force = false): Promise<string | undefined> {
    return this.tokens!.token(force);
  }

  private networkError(call: string, err: unknown, signal?: RequestSignal): ConductorError {
    if (err instanceof ConductorError) return err;
    if (signal?.aborted) return new ConductorError({ call, code: "ABORTED", message: `${call} was cancelled` });
    const e = err as { code?: string; message?: string };
    const timedOut =
      e.code === "UND_ERR_HEADERS_TIMEOUT" || e.code === "UND_ERR_BODY_TIMEOUT" || e.code === "UND_ERR_CONNECT_TIMEOUT" || e.code === "ETIMEDOUT";
    // A connection the server (or close()) ended before the answer: worth another try, like a reset.
    const reset = e.code === "UND_ERR_SOCKET" || e.code === "UND_ERR_DESTROYED" || e.code === "UND_ERR_CLOSED";
    const code = timedOut ? "ETIMEDOUT" : reset ? "ECONNRESET" : (e.code ?? "ERROR");
    const why = timedOut
      ? "it did not answer in time"
      : reset
        ? `ECONNRESET: the connection closed before the answer (${e.message ?? "socket closed"})`
        : `${code}${e.message ? `: ${e.message}` : ""}`;
    return new ConductorError({
      call,
      code,
      message: `cannot reach Conductor at ${this.baseUrl} (${call}: ${why}): is it running? start one with \`idflow server start\`, or point --server-url / CONDUCTOR_SERVER_URL at yours`,
    });
  }
}

function httpError(call: string, status: number, body: unknown, baseUrl: string): ConductorError {
  const b = (typeof body === "object" && body !== null ? body : {}) as { message?: string; validationErrors?: never[] };
  const serverSays = b.message ?? (typeof body === "string" && body.trim() ? body.trim().slice(0, 500) : "");
  const validation = Array.isArray(b.validationErrors) && b.validationErrors.length ? `\n${describeValidationErrors(b.validationErrors)}` : "";
  const hint =
    status === 401 || status === 403
      ? " Check CONDUCTOR_AUTH_KEY and CONDUCTOR_AUTH_SECRET and the application's permissions."
      : status === 404 && !b.message
        ? ` Is ${baseUrl} a Conductor server?`
        : "";
  return new ConductorError({
    call,
    status,
    body,
    message: `Conductor answered ${status} to ${call}${serverSays ? `: ${serverSays}` : ""}${validation}${hint ? `\n${hint.trim()}` : ""}`,
  });
}

/**
 * The answer's value: JSON parsed, other text as it is. JSON.parse runs only on text that can be
 * JSON (an object, array or string, or exactly a number or literal): Conductor answers many calls
 * with a bare id as text/plain (POST /tasks, for every result sent that way), and a JSON.parse
 * that throws on it cost about 30 µs and an Error's garbage per call (docs/performance.md). Any
 * text that is JSON parses as before.
 */
export function parseBody(data: string): unknown {
  if (data === "") return undefined;
  if (!MAY_BE_JSON.test(data)) return data;
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}

/** Text that can be JSON: an object, array or string, or exactly a number or literal (whitespace around allowed). */
const MAY_BE_JSON = /^[ \t\r\n]*(?:[{["]|(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)[ \t\r\n]*$)/;

/** `a=1&b=x%20y` from the params that have a value ("" when none). */
function queryString(params?: Record<string, unknown>): string {
  if (!params) return "";
  let out = "";
  for (const k in params) {
    const v = params[k];
    if (v === undefined || v === null || v === "") continue;
    out += `${out ? "&" : ""}${enc(k)}=${enc(String(v))}`;
  }
  return out;
}

function mentionsTask(err: ConductorError, taskId: string): boolean {
  return (err.serverMessage ?? "").includes(taskId) || (/task/i.test(err.serverMessage ?? "") && !/static resource/i.test(err.serverMessage ?? ""));
}

const enc = encodeURIComponent;

const ignore = (): void => undefined;

/**
 * One answer, read straight from undici's dispatch callbacks: the status and the body's bytes.
 * undici's request() wraps the same callbacks in an async resource, a Readable stream and a
 * parsed header object per call, none of which a Conductor call needs (docs/performance.md).
 */
class Answer implements Dispatcher.DispatchHandlers, AbortListener {
  private status = 0;
  private chunks: Buffer[] = [];
  private abort?: (err: Error) => void;

  constructor(
    private readonly resolve: (a: RawAnswer) => void,
    private readonly reject: (err: unknown) => void,
    private readonly signal?: RequestSignal,
  ) {
    // The answer itself listens (handleEvent): no closure per request.
    if (signal && !signal.aborted) signal.addEventListener("abort", this, { once: true });
  }

  /** The signal aborted: end the request. */
  handleEvent(): void {
    this.abort?.(this.signal?.reason instanceof Error ? this.signal.reason : new Error("aborted"));
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.signal?.aborted) abort(this.signal.reason instanceof Error ? this.signal.reason : new Error("aborted"));
    else this.abort = abort;
  }

  onHeaders(statusCode: number): boolean {
    this.status = statusCode;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    this.signal?.removeEventListener("abort", this);
    const c = this.chunks;
    this.resolve({ status: this.status, text: c.length === 0 ? "" : c.length === 1 ? c[0].toString("utf8") : Buffer.concat(c).toString("utf8") });
  }

  onError(err: Error): void {
    this.signal?.removeEventListener("abort", this);
    this.reject(err);
  }
}
