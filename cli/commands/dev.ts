/**
 * `idflow dev` (what `npm start` runs): the whole local loop on local defaults, reloading as you
 * edit. Uses the configured Conductor, or starts the local one; runs every task folder in its
 * own worker process (src/dev/supervisor.ts), uploads every task definition and workflow, then
 * watches tasks/ and workflows/: a changed task folder is reloaded (running tasks finish on the
 * old code; a folder that no longer loads keeps its last good version), a changed workflow is
 * validated and uploaded. Ctrl-C stops every worker (a second one at once); the local server
 * keeps running afterwards.
 */
import path from "node:path";
import type { ArgumentsCamelCase, CommandModule } from "yargs";
import { resolveConfig, type ResolvedConfig } from "../../src/config.ts";
import { ConductorClient } from "../../src/conductor/client.ts";
import { DevSupervisor } from "../../src/dev/supervisor.ts";
import { DEFAULT_PORT, startLocalServer } from "../../src/server/index.ts";
import type { UploadReport } from "../../src/upload/upload.ts";
import { loadWorkflows } from "../../src/workflows/load.ts";
import { configFlags, flagValues } from "../config-flags.ts";
import type { GlobalFlags } from "../main.ts";
import { colour, say, table, UserError } from "../output.ts";

interface DevFlags extends GlobalFlags {
  port: number;
}

export const devCommand: CommandModule<object, DevFlags> = {
  command: "dev",
  describe: "the local loop: Conductor (started if needed), upload everything, run every worker, reload on change",
  builder: (y) =>
    configFlags(y, ["logLevel", "logFormat", "shutdownGraceSeconds"]).option("port", {
      type: "number",
      default: DEFAULT_PORT,
      describe: "port for the local Conductor when one has to be started (0 picks a free one)",
    }) as never,
  handler: async (argv: ArgumentsCamelCase<DevFlags>) => {
    const config = resolveConfig(flagValues(argv as unknown as Record<string, unknown>));
    const url = await ensureServer(argv, config);
    const client = new ConductorClient({ serverUrl: url, auth: config.auth });
    const logLevel = config.entries.logLevel.source === "default" && argv.verbose ? "debug" : config.logLevel;
    const supervisor = new DevSupervisor({
      client,
      child: {
        root: config.root,
        stateDir: config.stateDir,
        serverUrl: url,
        ...(config.auth ? { auth: config.auth } : {}),
        logLevel,
        ...(config.logFormat ? { logFormat: config.logFormat } : {}),
        shutdownGraceMs: config.shutdownGraceSeconds * 1000,
        workers: config.workers as Record<string, Record<string, unknown>>,
      },
      say,
      onUpload: printUpload,
    });
    let signals = 0;
    const stopped = new Promise<void>((resolve) => {
      const onSignal = (sig: NodeJS.Signals) => {
        signals++;
        if (signals === 1) {
          say(`${sig}: stopping every worker (running tasks finish first; Ctrl-C again to quit at once)`);
          void supervisor.stop().then(resolve);
        } else {
          supervisor.kill();
          process.exit(130);
        }
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
    });
    const started = await supervisor.start();
    say("");
    say(`started ${started.workers.length} workers against ${url}; watching tasks/ and workflows/ (Ctrl-C stops):`);
    say(
      table(
        ["NAME", "FOLDER"],
        supervisor.current().flatMap((g) => g.workers.map((w) => [w, g.folder])),
      ),
    );
    say("");
    const { workflows } = await loadWorkflows(config.root);
    const defs = workflows.map((w) => w.def).filter((d) => typeof d?.name === "string");
    if (defs.length > 0) {
      say(`Try it, in another terminal:`);
      for (const def of defs.slice(0, SAMPLE_LIMIT)) say(colour.bold(`  ${sampleRun(def.name, def.inputParameters)}`));
      if (defs.length > SAMPLE_LIMIT) say(colour.dim(`  (and ${defs.length - SAMPLE_LIMIT} more workflow(s) in workflows/)`));
    } else {
      say(`No workflows in ${path.join(config.root, "workflows")} yet: add workflows/<name>/<name>.json to run one.`);
    }
    say(colour.dim(`  (the local Conductor keeps running after Ctrl-C here; stop it with: npx idflow server stop)`));
    say("");
    await stopped;
    client.close();
    say("stopped");
    process.exit(0);
  },
};

function printUpload(report: UploadReport, why: string): void {
  if (why === "start") {
    say(
      table(
        ["KIND", "NAME", "VERSION", "ACTION"],
        report.entries.map((e) => [e.kind, e.name, e.version === undefined ? "-" : String(e.version), e.action]),
      ),
    );
    return;
  }
  const changed = report.entries.filter((e) => e.action !== "unchanged");
  if (changed.length)
    say(`${why}: uploaded ${changed.map((e) => `${e.kind} ${e.name}${e.version === undefined ? "" : ` v${e.version}`} (${e.action})`).join(", ")}`);
}

/** How many sample `workflow run` commands to print. */
const SAMPLE_LIMIT = 5;
/** Sample values for common input names; any other input gets a placeholder. */
const SAMPLE_INPUT: Record<string, string> = {
  text: "Conductor schedules. Workers poll for tasks. Workers report results.",
  topic: "Workers",
  title: "Workers",
};

/** A `workflow run` command a person can paste, with an input for every declared parameter. */
export function sampleRun(name: string, inputParameters: unknown): string {
  const keys = Array.isArray(inputParameters) ? inputParameters.filter((k): k is string => typeof k === "string") : [];
  const input = JSON.stringify(Object.fromEntries(keys.map((k) => [k, SAMPLE_INPUT[k] ?? `<${k}>`])));
  return `npx idflow workflow run ${name} --input '${input.replace(/'/g, "'\\''")}' --wait`;
}

/** The configured server if it answers; else the local one, started when needed. */
async function ensureServer(argv: DevFlags, config: ResolvedConfig): Promise<string> {
  const resolved = { url: config.serverUrl, source: config.entries.serverUrl.source };
  const paths = { stateDir: config.stateDir };
  const probe = new ConductorClient({ serverUrl: resolved.url, auth: config.auth });
  const healthy = await probe.healthy(3000);
  probe.close();
  if (healthy) {
    say(`using Conductor at ${resolved.url} (${resolved.source === "local-server" ? "the local server" : resolved.source})`);
    return resolved.url;
  }
  if (resolved.source === "flag" || resolved.source === "env" || resolved.source === "file") {
    throw new UserError(
      `cannot reach Conductor at ${resolved.url} (from ${config.entries.serverUrl.from}): is it running? Unset it to let idflow start a local one.`,
    );
  }
  say("starting the local Conductor (the first start downloads the server jar through Maven)…");
  const { state } = await startLocalServer({ stateDir: paths.stateDir, port: argv.port, onProgress: (l) => say(colour.dim(l)) });
  say(`Conductor is running at ${state.url}`);
  return state.url;
}
