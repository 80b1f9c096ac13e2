/** `idflow workflow run <name>`: start a workflow, optionally wait for it and print its output. */
import { readFileSync } from "node:fs";
import type { CommandModule } from "yargs";
import { projectPaths } from "../../../src/config.ts";
import { connect } from "../../../src/conductor/connect.ts";
import { waitForWorkflow } from "../../../src/conductor/wait.ts";
import { describeProgress } from "../../../src/runs/progress.ts";
import { loadRunTree } from "../../../src/runs/status-tree.ts";
import { colour, printJson, say, UserError } from "../../output.ts";
import { paintStatus, progressLine } from "./present.ts";

interface RunArgs {
  name: string;
  input?: string;
  inputFile?: string;
  workflowVersion?: number;
  correlationId?: string;
  wait: boolean;
  timeout: number;
  root?: string;
  serverUrl?: string;
  json: boolean;
}

export const runCommand: CommandModule<object, RunArgs> = {
  command: "run <name>",
  describe: "start a workflow; with --wait, wait for it and print its output (exit 1 naming the failed task when it fails)",
  builder: (y) =>
    y
      .positional("name", { type: "string", demandOption: true, describe: "workflow name" })
      .option("input", { type: "string", describe: "workflow input as a JSON object" })
      .option("input-file", { type: "string", describe: "read the input from a JSON file" })
      .option("workflow-version", { type: "number", describe: "workflow version (default: latest)" })
      .option("correlation-id", { type: "string" })
      .option("wait", { type: "boolean", default: false, describe: "wait until the workflow ends and print its output" })
      .option("timeout", { type: "number", default: 60, describe: "how long --wait waits for the workflow to end, in seconds" }) as never,
  handler: async (args) => {
    const input = parseInput(args);
    const client = connect(args, projectPaths(args));
    try {
      const id = await client.startWorkflow(args.name, input, { version: args.workflowVersion, correlationId: args.correlationId });
      say(`started ${args.name}: ${id}`);
      if (!args.wait) {
        if (args.json) printJson({ workflowId: id });
        return;
      }
      // On a terminal, one line says which task runs (or waits for a worker); off a terminal, quiet.
      const progress = progressLine();
      const started = Date.now();
      let wf: Awaited<ReturnType<typeof waitForWorkflow>>;
      try {
        wf = await waitForWorkflow(client, id, {
          timeoutMs: args.timeout * 1000,
          includeTasks: Boolean(process.stderr.isTTY),
          onPoll: (w) => progress.update(`${colour.dim(`${Math.round((Date.now() - started) / 1000)} s`)} ${describeProgress(w)}`),
        });
      } finally {
        progress.clear();
      }
      if (wf.status === "COMPLETED") {
        say(`${args.name} ${id}: ${paintStatus(wf.status, wf.status)}`);
        if (args.json) printJson({ workflowId: id, status: wf.status, output: wf.output ?? {} });
        else process.stdout.write(`${JSON.stringify(wf.output ?? {}, null, 2)}\n`);
        return;
      }
      // It ended badly: name the task that failed it and why (sub-workflows included).
      const tree = await loadRunTree(client, id);
      const f = tree.failure;
      const what = f
        ? `task ${f.ref === f.name ? f.ref : `${f.ref} (${f.name})`} ${f.status}${f.reason ? `: ${f.reason}` : ""}`
        : (wf.reasonForIncompletion ?? "no reason given");
      say(`${args.name} ${id}: ${paintStatus(wf.status, wf.status)}: ${what}`);
      say(colour.dim(`(idflow workflow status ${id} shows the whole run)`));
      if (args.json) printJson({ workflowId: id, status: wf.status, output: wf.output ?? {}, reason: wf.reasonForIncompletion ?? null, failure: f ?? null });
      process.exitCode = 1;
    } finally {
      client.close();
    }
  },
};

function parseInput(args: RunArgs): Record<string, unknown> {
  let text = args.input;
  let where = "--input";
  if (args.inputFile) {
    where = args.inputFile;
    try {
      text = readFileSync(args.inputFile, "utf8");
    } catch (err) {
      throw new UserError(`cannot read ${args.inputFile}: ${(err as Error).message}`, 2);
    }
  }
  if (text === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${where} is not valid JSON (${(err as Error).message}): pass an object like '{"text":"hello"}'`, 2);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UserError(`${where} must be a JSON object like '{"text":"hello"}'`, 2);
  }
  return value as Record<string, unknown>;
}
