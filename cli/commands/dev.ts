/**
 * `idflow dev` (what `npm start` runs): the whole local loop on local defaults.
 * Uses the configured Conductor, or starts the local one; uploads every task definition and
 * workflow; then runs every worker until Ctrl-C. The local server keeps running afterwards.
 */
import path from "node:path";
import type { ArgumentsCamelCase, CommandModule } from "yargs";
import { authFromEnv, projectPaths, resolveServerUrl } from "../../src/config.ts";
import { ConductorClient } from "../../src/conductor/client.ts";
import { discover } from "../../src/discovery/discover.ts";
import { DEFAULT_PORT, startLocalServer } from "../../src/server/index.ts";
import { upload } from "../../src/upload/upload.ts";
import { loadWorkflows } from "../../src/workflows/load.ts";
import type { GlobalFlags } from "../main.ts";
import { colour, say, table, UserError } from "../output.ts";
import { startWorkers } from "./worker/start.ts";

interface DevFlags extends GlobalFlags {
  port: number;
}

export const devCommand: CommandModule<object, DevFlags> = {
  command: "dev",
  describe: "the local loop: Conductor (started if needed), upload everything, run every worker",
  builder: (y) =>
    y.option("port", {
      type: "number",
      default: DEFAULT_PORT,
      describe: "port for the local Conductor when one has to be started (0 picks a free one)",
    }) as never,
  handler: async (argv: ArgumentsCamelCase<DevFlags>) => {
    const paths = projectPaths({ root: argv.root });
    const url = await ensureServer(argv, paths);

    const found = await discover({ root: paths.root });
    const client = new ConductorClient({ serverUrl: url, auth: authFromEnv() });
    try {
      const report = await upload(client, { registrations: found.registrations, root: paths.root });
      say(table(["KIND", "NAME", "VERSION", "ACTION"], report.entries.map((e) => [e.kind, e.name, e.version === undefined ? "-" : String(e.version), e.action])));
    } finally {
      client.close();
    }
    say("");
    const { workflows } = await loadWorkflows(paths.root);
    const names = workflows.map((w) => w.def).filter((d) => typeof d?.name === "string");
    if (names.length > 0) {
      say(`Try it, in another terminal:`);
      for (const def of names.slice(0, SAMPLE_LIMIT)) say(colour.bold(`  ${sampleRun(def.name, def.inputParameters)}`));
      if (names.length > SAMPLE_LIMIT) say(colour.dim(`  (and ${names.length - SAMPLE_LIMIT} more workflow(s) in workflows/)`));
    } else {
      say(`No workflows in ${path.join(paths.root, "workflows")} yet: add workflows/<name>/<name>.json to run one.`);
    }
    say(colour.dim(`  (the local Conductor keeps running after Ctrl-C here; stop it with: npx idflow server stop)`));
    say("");
    await startWorkers({ ...argv, serverUrl: url, all: true, upload: false }, found);
  },
};

/** How many sample `workflow run` commands to print. */
const SAMPLE_LIMIT = 5;
/** Sample values for common input names; any other input gets a placeholder. */
const SAMPLE_INPUT: Record<string, string> = { text: "Conductor schedules. Workers poll for tasks. Workers report results.", topic: "Workers", title: "Workers" };

/** A `workflow run` command a person can paste, with an input for every declared parameter. */
export function sampleRun(name: string, inputParameters: unknown): string {
  const keys = Array.isArray(inputParameters) ? inputParameters.filter((k): k is string => typeof k === "string") : [];
  const input = JSON.stringify(Object.fromEntries(keys.map((k) => [k, SAMPLE_INPUT[k] ?? `<${k}>`])));
  return `npx idflow workflow run ${name} --input '${input.replace(/'/g, "'\\''")}' --wait`;
}

/** The configured server if it answers; else the local one, started when needed. */
async function ensureServer(argv: DevFlags, paths: ReturnType<typeof projectPaths>): Promise<string> {
  const resolved = resolveServerUrl({ serverUrl: argv.serverUrl }, paths);
  const probe = new ConductorClient({ serverUrl: resolved.url, auth: authFromEnv() });
  const healthy = await probe.healthy(3000);
  probe.close();
  if (healthy) {
    say(`using Conductor at ${resolved.url} (${resolved.source === "local-server" ? "the local server" : resolved.source})`);
    return resolved.url;
  }
  if (resolved.source === "flag" || resolved.source === "env") {
    throw new UserError(
      `cannot reach Conductor at ${resolved.url} (from ${resolved.source === "flag" ? "--server-url" : "CONDUCTOR_SERVER_URL"}): is it running? Unset it to let idflow start a local one.`,
    );
  }
  say("starting the local Conductor (the first start downloads the server jar through Maven)…");
  const { state } = await startLocalServer({ stateDir: paths.stateDir, port: argv.port, onProgress: (l) => say(colour.dim(l)) });
  say(`Conductor is running at ${state.url}`);
  return state.url;
}
