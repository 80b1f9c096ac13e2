/**
 * The files `idflow init` and `idflow task new` write. Each template is a function of the
 * names it needs; nothing here touches the disk.
 */
import type { DecoratorMode } from "./decorator-mode.ts";

/** A TypeScript identifier for a task name: "greet-user.v2" -> "greetUserV2". */
export function identifier(name: string, pascal = false): string {
  const parts = name.split(/[^A-Za-z0-9]+/).filter(Boolean);
  let id = parts.map((p, i) => (i === 0 && !pascal ? p.charAt(0).toLowerCase() : p.charAt(0).toUpperCase()) + p.slice(1)).join("");
  if (!/^[A-Za-z_]/.test(id)) id = (pascal ? "Task" : "task") + id;
  return id;
}

const modeNote = (mode: DecoratorMode) =>
  mode === "experimental" ? "TypeScript's experimentalDecorators (tsconfig.json)" : "TC39 standard decorators (tsconfig.json has no experimentalDecorators)";

/** tasks/<name>/<name>.ts */
export function taskModule(name: string, opts: { asClass: boolean; mode: DecoratorMode }): string {
  const options = `{ name: "${name}", description: "TODO: what ${name} does", retryCount: 3, timeoutSeconds: 60, responseTimeoutSeconds: 60 }`;
  if (opts.asClass) {
    const cls = identifier(name, true);
    return `/**
 * ${name}: TODO say what this task does.
 * A class method marked with workerTask (decorators here: ${modeNote(opts.mode)}). idflow
 * constructs ${cls} once, with no arguments, and binds the method to it, so \`this\` works.
 */
import { TerminalError, workerTask, type TaskContext } from "idflow";

export interface ${cls}Input {
  text?: string;
}

export class ${cls} {
  private readonly prefix = "${name}";

  @workerTask(${options})
  async run(input: ${cls}Input, ctx?: TaskContext): Promise<{ result: string }> {
    if (input.text !== undefined && typeof input.text !== "string") throw new TerminalError("${name}: input.text must be a string");
    ctx?.log(\`${name} got \${JSON.stringify(input)}\`);
    return { result: \`\${this.prefix}: \${input.text ?? ""}\` };
  }
}
`;
  }
  const fn = identifier(name);
  return `/**
 * ${name}: TODO say what this task does.
 * A plain function wrapped by workerTask (TypeScript allows no decorators on functions).
 */
import { TerminalError, workerTask, type TaskContext } from "idflow";

export interface ${identifier(name, true)}Input {
  text?: string;
}

export const ${fn} = workerTask(${options})(
  async (input: ${identifier(name, true)}Input, ctx?: TaskContext): Promise<{ result: string }> => {
    if (input.text !== undefined && typeof input.text !== "string") throw new TerminalError("${name}: input.text must be a string");
    ctx?.log(\`${name} got \${JSON.stringify(input)}\`);
    return { result: \`${name}: \${input.text ?? ""}\` };
  },
);
`;
}

/** tasks/<name>/<name>.test.ts (node:test, run by `npm test`). */
export function taskTest(name: string, opts: { asClass: boolean }): string {
  const call = opts.asClass ? `new ${identifier(name, true)}().run` : identifier(name);
  const imported = opts.asClass ? identifier(name, true) : identifier(name);
  return `import assert from "node:assert/strict";
import { test } from "node:test";
import { TerminalError } from "idflow";
import { ${imported} } from "./${name}.ts";

test("${name} answers with its result", async () => {
  assert.deepEqual(await ${call}({ text: "hi" }), { result: "${name}: hi" });
});

test("${name}: bad input is a terminal error (no retry)", async () => {
  await assert.rejects(${call}({ text: 42 as unknown as string }), TerminalError);
});
`;
}

/** workflows/<workflow>/<workflow>.json: one SIMPLE task. */
export function workflowJson(workflow: string, task: string): string {
  const def = {
    name: workflow,
    description: `Runs ${task} once with the workflow's text`,
    version: 1,
    schemaVersion: 2,
    inputParameters: ["text"],
    tasks: [{ name: task, taskReferenceName: `${task}_ref`, type: "SIMPLE", inputParameters: { text: "${workflow.input.text}" } }],
    outputParameters: { result: `\${${task}_ref.output.result}` },
    timeoutPolicy: "ALERT_ONLY",
    timeoutSeconds: 0,
  };
  return `${JSON.stringify(def, null, 2)}\n`;
}

/** tsconfig.json for a new project: strict, TC39 decorators, no emit (tsx runs the tasks). */
export function tsconfigJson(): string {
  return `{
  // Decorators: TC39 standard decorators (no "experimentalDecorators" here). idflow supports
  // both modes; add "experimentalDecorators": true to use TypeScript's older ones instead, and
  // \`idflow task new --class\` follows whichever this file says.
  // No build step: idflow loads tasks/ with tsx; \`npm run typecheck\` only checks types.
  "compilerOptions": {
    "target": "ES2022",
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "lib": ["ES2023"],
    "types": ["node"],
    "strict": true,
    "exactOptionalPropertyTypes": true,
    "noUncheckedIndexedAccess": true,
    "noEmit": true,
    "allowImportingTsExtensions": true,
    "isolatedModules": true
  },
  "include": ["tasks"]
}
`;
}

/** The package.json fields a project needs for idflow (merged into an existing one, never overwriting). */
export function packageFields(projectName: string, versions: { idflow: string; tsx: string; typescript: string; typesNode: string }) {
  return {
    name: projectName,
    version: "0.1.0",
    private: true,
    type: "module",
    workspaces: ["tasks/*"],
    scripts: {
      start: "idflow dev",
      workers: "idflow worker start --all",
      upload: "idflow worker upload",
      test: "node --import tsx --test tasks/*/*.test.ts",
      typecheck: "tsc --noEmit",
    },
    dependencies: { idflow: versions.idflow },
    devDependencies: { "@types/node": versions.typesNode, tsx: versions.tsx, typescript: versions.typescript },
  };
}

export const GITIGNORE = `node_modules/
# idflow's local state: the local Conductor's data and logs, the result spool
.idflow/
`;

export function readme(projectName: string, task: string, workflow: string): string {
  return `# ${projectName}

Conductor task workers written with [idflow](https://www.npmjs.com/package/idflow): a task is a
function in a folder.

\`\`\`sh
npm install
npm start       # a local Conductor (Java 17+ and Maven needed), upload, run every worker
npx idflow workflow run ${workflow} --input '{"text":"hello"}' --wait   # in another terminal
npm test        # the tasks' own tests (tasks/*/*.test.ts), no server needed
\`\`\`

- \`tasks/${task}/${task}.ts\` is a worker; add one with \`npx idflow task new <name>\` (\`--class\`
  for a class method).
- \`workflows/${workflow}/${workflow}.json\` is a workflow; \`npx idflow workflow validate\`
  checks every workflow against Conductor's rules and your workers.
- A task needing packages of its own gets a \`package.json\` in its folder (\`"type": "module"\`
  and its \`dependencies\`); the folders under \`tasks/\` are npm workspaces, so \`npm install\` at
  the root installs them all, and \`npx idflow worker list\` names a folder whose dependencies
  are missing.
- \`CONDUCTOR_SERVER_URL\` points every command at another Conductor.
`;
}
