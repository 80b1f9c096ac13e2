/** `idflow workflow run <name>`: start a workflow, optionally wait for it and print its output. */
import { readFileSync } from "node:fs";
import type { CommandModule } from "yargs";
import { projectPaths } from "../../../src/config.ts";
import { connect } from "../../../src/conductor/connect.ts";
import { waitForWorkflow } from "../../../src/conductor/wait.ts";
import { printJson, say, UserError } from "../../output.ts";

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
  describe: "start a workflow; with --wait, wait for it and print its output",
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
      const wf = await waitForWorkflow(client, id, { timeoutMs: args.timeout * 1000 });
      say(`${args.name} ${id}: ${wf.status}${wf.reasonForIncompletion ? ` (${wf.reasonForIncompletion})` : ""}`);
      if (args.json) printJson({ workflowId: id, status: wf.status, output: wf.output ?? {} });
      else process.stdout.write(`${JSON.stringify(wf.output ?? {}, null, 2)}\n`);
      if (wf.status !== "COMPLETED") process.exitCode = 1;
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
