/**
 * One `idflow dev` worker process: discovers ONE task folder (fresh imports: this process has
 * never loaded it), tells the supervisor what it found, and on "start" runs its workers with
 * the same runtime as `idflow worker start`. On "stop" it drains like SIGTERM (running tasks
 * finish on this generation's code) and exits; "kill" is the second signal.
 */
import { ConductorClient } from "../conductor/client.ts";
import { discover } from "../discovery/discover.ts";
import { createLogger } from "../log.ts";
import { runWorkers, type WorkerRun } from "../runtime/handler.ts";
import type { FileWorkerOptions } from "../config.ts";
import type { LogLevel } from "../log.ts";
import { CHILD_CONFIG_ENV, type ChildConfig, type ChildMessage, type ParentMessage } from "./protocol.ts";

const send = (m: ChildMessage) => process.send?.(m);
const config = JSON.parse(process.env[CHILD_CONFIG_ENV] ?? "null") as ChildConfig | null;
if (!config || !process.send) {
  process.stderr.write("folder-process.ts is started by `idflow dev`, not by hand\n");
  process.exit(2);
}

const found = await discover({ root: config.root, folders: [config.folder], workers: config.workers as Record<string, FileWorkerOptions> });
if (found.errors.length > 0 || found.registrations.length === 0) {
  // Exit explicitly: tsx's loader keeps a message port open that would keep this process alive.
  process.send({ type: "failed", errors: found.errors.length ? found.errors.map((e) => e.message) : ["no worker found"] } satisfies ChildMessage, () =>
    process.exit(0),
  );
} else {
  send({
    type: "loaded",
    workers: found.registrations.map(({ name, domain, options, sourceFile, symbol }) => ({
      name,
      ...(domain ? { domain } : {}),
      options,
      sourceFile,
      ...(symbol ? { symbol } : {}),
    })),
  });
  let run: WorkerRun | undefined;
  let client: ConductorClient | undefined;
  let stopAsked = false;
  const stop = () => {
    stopAsked = true;
    if (!run) process.exit(0);
    void run.stop("dev reload");
    // A long poll already under way is not cancelled (its task is ours to run); it ends within its
    // poll timeout. Then the next generation may poll: tasks scheduled from now on reach the new code.
    const longest = Math.max(0, ...run.workers.map((w) => w.pollTimeoutMs));
    setTimeout(() => send({ type: "quiet" }), longest + 250).unref();
  };
  process.on("message", async (m: ParentMessage) => {
    if (m.type === "stop") stop();
    else if (m.type === "kill") {
      // The handler's second-signal path: spool what is in memory, exit 130.
      process.emit("SIGTERM", "SIGTERM");
      process.emit("SIGTERM", "SIGTERM");
    } else if (m.type === "start" && !run && !stopAsked) {
      client = new ConductorClient({ serverUrl: config.serverUrl, auth: config.auth });
      run = await runWorkers({
        client,
        registrations: found.registrations.filter((r) => !r.options.paused),
        stateDir: config.stateDir,
        logger: createLogger({ level: config.logLevel as LogLevel, format: config.logFormat }),
        shutdownGraceMs: config.shutdownGraceMs,
        handleSignals: true,
        exit: (code) => process.exit(code),
      });
      send({ type: "started" });
      const summary = await run.finished;
      client.close();
      const completed = Object.values(summary.workers).reduce((n, w) => n + w.completed, 0);
      send({ type: "stopped", exitCode: summary.exitCode, completed });
      process.exit(summary.exitCode);
    }
  });
  // The supervisor went away: stop like SIGTERM.
  process.on("disconnect", stop);
}
