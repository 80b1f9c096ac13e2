/**
 * The `idflow dev` reload loop. Each task folder runs in its own worker process, one per
 * generation (folder-process.ts): a changed folder gets a fresh process that imports it anew;
 * when it loads, the old process is told to stop (its running tasks finish on the old code, then
 * it exits) and the new one starts polling. A folder that no longer loads keeps its last good
 * process running, and the supervisor says why (file and line). A changed workflow is validated
 * and uploaded. Watching is chokidar's.
 */
import { fork, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { watch, type FSWatcher } from "chokidar";
import type { ConductorClient } from "../conductor/client.ts";
import { scanTaskFolders } from "../discovery/scan.ts";
import type { Registration } from "../task/registration.ts";
import { upload, type UploadReport } from "../upload/upload.ts";
import { CHILD_CONFIG_ENV, type ChildConfig, type ChildMessage, type ParentMessage, type WorkerDescriptor } from "./protocol.ts";

const BOOT = new URL("./folder-boot.mjs", import.meta.url);

export interface SupervisorOptions {
  client: ConductorClient;
  /** Everything a worker process needs but its folder. */
  child: Omit<ChildConfig, "folder">;
  /** Lines for people. */
  say: (line: string) => void;
  /** Called with each upload's report (the first one covers everything). */
  onUpload?: (report: UploadReport, why: string) => void;
  /** Quiet time before a change is acted on (editors write in bursts). Default 150 ms. */
  debounceMs?: number;
}

interface Generation {
  folder: string;
  n: number;
  proc: ChildProcess;
  workers: WorkerDescriptor[];
  exited: Promise<number | null>;
}

export class DevSupervisor {
  /** The running generation of each folder (absolute path). */
  private readonly running = new Map<string, Generation>();
  private readonly counters = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** One change handled at a time, in order. */
  private queue: Promise<void> = Promise.resolve();
  private watcher?: FSWatcher;
  private stopping = false;

  constructor(private readonly opts: SupervisorOptions) {}

  private get root(): string {
    return this.opts.child.root;
  }

  /** Load every folder, upload everything, start all workers, then watch. Resolves once polling. */
  async start(): Promise<{ workers: WorkerDescriptor[]; failed: string[] }> {
    const folders = await scanTaskFolders(this.root);
    const failed: string[] = [];
    // A folder holds a task module, or a task.json for a program (an executable task).
    for (const f of folders) if (!f.module && !f.manifest) this.opts.say(`warning: ${f.problem ?? `${this.rel(f.folder)}: no task module`}`);
    const loaded = await Promise.all(folders.filter((f) => f.module || f.manifest).map((f) => this.load(f.folder)));
    const ready: Generation[] = [];
    for (const r of loaded) {
      if ("errors" in r) {
        failed.push(r.folder);
        for (const e of r.errors) this.opts.say(`warning: ${e}`);
      } else {
        const clash = this.clash(r, ready);
        if (clash) {
          this.opts.say(`warning: ${clash}`);
          failed.push(r.folder);
          this.send(r, { type: "stop" });
          continue;
        }
        ready.push(r);
      }
    }
    await this.upload(
      ready.flatMap((g) => g.workers),
      { root: this.root },
      "start",
    ).catch(async (err: Error & { issues?: unknown }) => {
      // A workflow that does not validate must not stop the loop: report it, upload the task definitions, go on.
      this.opts.say(`error: ${err.message}`);
      await this.upload(
        ready.flatMap((g) => g.workers),
        { tasksOnly: true },
        "start",
      );
    });
    await Promise.all(ready.map((g) => this.run(g)));
    this.watch();
    return { workers: ready.flatMap((g) => g.workers), failed };
  }

  /** Stop watching, stop every worker process (each drains like SIGTERM) and wait for them. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const t of this.timers.values()) clearTimeout(t);
    await this.watcher?.close();
    const all = [...this.running.values()];
    for (const g of all) this.send(g, { type: "stop" });
    await Promise.all(all.map((g) => g.exited));
  }

  /** The second Ctrl-C: every process exits at once (results in memory are spooled). */
  kill(): void {
    for (const g of this.running.values()) this.send(g, { type: "kill" });
  }

  /** Worker names by folder, for messages and tests. */
  current(): Array<{ folder: string; generation: number; workers: string[] }> {
    return [...this.running.values()].map((g) => ({ folder: this.rel(g.folder), generation: g.n, workers: g.workers.map((w) => w.name) }));
  }

  private watch(): void {
    const dirs = [path.join(this.root, "tasks"), path.join(this.root, "workflows")].filter((d) => existsSync(d));
    this.watcher = watch(dirs, { ignoreInitial: true, ignored: (p) => /(^|[/\\])(node_modules|\.[^/\\]+)([/\\]|$)/.test(path.relative(this.root, p)) });
    this.watcher.on("all", (_event, file) => this.changed(file));
    this.watcher.on("error", (err) => this.opts.say(`warning: watching failed: ${(err as Error).message}`));
  }

  private changed(file: string): void {
    const rel = path.relative(this.root, file).split(path.sep);
    if (rel.length < 2 || rel[1].startsWith("_") || rel[1].startsWith(".")) return;
    const key = `${rel[0]}/${rel[1]}`;
    if (rel[0] === "workflows" && rel.length === 2) return;
    clearTimeout(this.timers.get(key));
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        this.queue = this.queue
          .then(() => (rel[0] === "tasks" ? this.reloadFolder(path.join(this.root, key)) : this.reuploadWorkflows(key)))
          .catch((err: Error) => this.opts.say(`error: ${err.message}`));
      }, this.opts.debounceMs ?? 150),
    );
  }

  private async reloadFolder(folder: string): Promise<void> {
    if (this.stopping) return;
    const old = this.running.get(folder);
    if (!existsSync(folder)) {
      if (old) {
        this.opts.say(`${this.rel(folder)} was removed: stopping ${old.workers.map((w) => w.name).join(", ")}`);
        this.running.delete(folder);
        this.send(old, { type: "stop" });
      }
      return;
    }
    const next = await this.load(folder);
    if ("errors" in next) {
      const keep = old ? `; the last good version keeps running (${old.workers.map((w) => w.name).join(", ")})` : "";
      this.opts.say(`error: ${this.rel(folder)} no longer loads${keep}:\n${next.errors.map((e) => `  ${e}`).join("\n")}`);
      return;
    }
    const clash = this.clash(
      next,
      [...this.running.values()].filter((g) => g.folder !== folder),
    );
    if (clash) {
      this.opts.say(`error: ${clash}${old ? "; the last good version keeps running" : ""}`);
      this.send(next, { type: "stop" });
      return;
    }
    try {
      await this.upload(next.workers, { tasksOnly: true }, this.rel(folder));
    } catch (err) {
      this.opts.say(`error: ${this.rel(folder)}: uploading its task definitions failed (${(err as Error).message}); the last good version keeps running`);
      this.send(next, { type: "stop" });
      return;
    }
    // Old generation first stops polling (its running tasks finish on the old code), then the new one polls.
    if (old) await this.quiet(old);
    await this.run(next);
    const names = next.workers.map((w) => w.name).join(", ");
    this.opts.say(old ? `reloaded ${this.rel(folder)} (generation ${next.n}): ${names}` : `loaded new ${this.rel(folder)}: ${names}`);
  }

  private async reuploadWorkflows(key: string): Promise<void> {
    if (this.stopping) return;
    const workers = [...this.running.values()].flatMap((g) => g.workers);
    try {
      await this.upload(workers, { root: this.root, workflowsOnly: true }, key);
    } catch (err) {
      this.opts.say(`error: ${key} changed but was not uploaded:\n${(err as Error).message}`);
    }
  }

  private async upload(workers: WorkerDescriptor[], input: { root?: string; tasksOnly?: boolean; workflowsOnly?: boolean }, why: string): Promise<void> {
    const report = await upload(this.opts.client, { registrations: workers.map(descriptorRegistration), ...input });
    this.opts.onUpload?.(report, why);
  }

  /** Start a folder's process for the next generation; resolves when it has loaded (or failed). */
  private load(folder: string): Promise<Generation | { folder: string; errors: string[] }> {
    const n = (this.counters.get(folder) ?? 0) + 1;
    this.counters.set(folder, n);
    const config: ChildConfig = { ...this.opts.child, folder };
    const proc = fork(BOOT, [], {
      env: { ...process.env, [CHILD_CONFIG_ENV]: JSON.stringify(config) },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      execArgv: [],
    });
    const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
    return new Promise((resolve) => {
      const onMessage = (m: ChildMessage) => {
        if (m.type === "loaded") {
          proc.off("message", onMessage);
          const g: Generation = { folder, n, proc, workers: m.workers, exited };
          void exited.then((code) => this.exitedEarly(g, code));
          resolve(g);
        } else if (m.type === "failed") {
          proc.off("message", onMessage);
          resolve({ folder, errors: m.errors });
        }
      };
      proc.on("message", onMessage);
      void exited.then((code) => resolve({ folder, errors: [`${this.rel(folder)}: its worker process exited (code ${code}) before loading`] }));
    });
  }

  private async run(g: Generation): Promise<void> {
    this.running.set(g.folder, g);
    await new Promise<void>((resolve) => {
      const onMessage = (m: ChildMessage) => {
        if (m.type !== "started") return;
        g.proc.off("message", onMessage);
        resolve();
      };
      g.proc.on("message", onMessage);
      void g.exited.then(() => resolve());
      this.send(g, { type: "start" });
    });
  }

  /** Tell a generation to stop; resolves once it polls no more (or has exited; at most 10 s). */
  private quiet(g: Generation): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, 10_000);
      function done() {
        clearTimeout(timer);
        g.proc.off("message", onMessage);
        resolve();
      }
      const onMessage = (m: ChildMessage) => {
        if (m.type === "quiet") done();
      };
      g.proc.on("message", onMessage);
      void g.exited.then(done);
      this.send(g, { type: "stop" });
    });
  }

  private exitedEarly(g: Generation, code: number | null): void {
    if (this.stopping || this.running.get(g.folder) !== g) return;
    this.running.delete(g.folder);
    this.opts.say(`error: the worker process of ${this.rel(g.folder)} exited (code ${code}); it starts again when the folder changes`);
  }

  private clash(g: Generation, others: Generation[]): string | undefined {
    for (const w of g.workers) {
      const other = others.find((o) => o.workers.some((x) => x.name === w.name && (x.domain ?? "") === (w.domain ?? "")));
      if (other)
        return `${this.rel(g.folder)}: worker ${JSON.stringify(w.name)} is already served by ${this.rel(other.folder)}; task names must be unique per domain`;
    }
    return undefined;
  }

  private send(g: Generation | { proc: ChildProcess }, m: ParentMessage): void {
    if (g.proc.connected) g.proc.send(m);
  }

  private rel(p: string): string {
    return path.relative(this.root, p).split(path.sep).join("/") || p;
  }
}

/** A registration for upload and validation only: its function runs in a worker process. */
function descriptorRegistration(w: WorkerDescriptor): Registration {
  return {
    ...w,
    fn: () => {
      throw new Error(`${w.name} runs in its folder's worker process`);
    },
  };
}
