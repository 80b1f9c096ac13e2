/**
 * idflow.config.json: its JSON Schema, generated from the option declarations in config.ts
 * (the copy shipped in schema/idflow.config.schema.json is checked against it by a test), and
 * the check of a file against it with ajv. Every problem names the line, column, JSON pointer,
 * what was expected and what to do.
 */
import { createRequire } from "node:module";
import type { Ajv as AjvClass, ErrorObject } from "ajv";
import { findNodeAtLocation, parseTree, printParseErrorCode, type Node, type ParseError } from "jsonc-parser";
import { CONFIG_OPTIONS, FILE_WORKER_OPTIONS, type OptionDecl } from "./config.ts";
import type { WorkerSettingDecl } from "./task/options.ts";
import { NAME_PATTERN } from "./task/validate-options.ts";

export const CONFIG_SCHEMA_ID = "https://idflow.dev/schema/idflow.config.schema.json";

/** The JSON Schema of idflow.config.json (draft-07, which ajv and editors speak by default). */
export function configSchema(): Record<string, unknown> {
  const properties: Record<string, unknown> = { $schema: { type: "string", description: "the JSON Schema this file follows (for editors)" } };
  for (const d of CONFIG_OPTIONS) {
    if (d.notInFile) continue;
    properties[d.key] = propertySchema(d);
  }
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    $id: CONFIG_SCHEMA_ID,
    title: "idflow project configuration (idflow.config.json)",
    description: "Flags beat environment variables, which beat this file, which beats the defaults. `idflow config` shows the result.",
    type: "object",
    additionalProperties: false,
    properties,
  };
}

function propertySchema(d: OptionDecl): Record<string, unknown> {
  const envDoc = d.env?.length ? ` (environment: ${d.env[0]})` : "";
  const base: Record<string, unknown> = { description: d.doc + envDoc };
  if (d.default !== undefined && d.type !== "workers") base.default = d.default;
  switch (d.type) {
    case "string":
      return { ...base, type: "string", ...(d.choices ? { enum: [...d.choices] } : { minLength: 1 }), ...(d.pattern ? { pattern: d.pattern } : {}) };
    case "integer":
      return {
        ...base,
        type: "integer",
        ...(d.minimum !== undefined ? { minimum: d.minimum } : {}),
        ...(d.maximum !== undefined ? { maximum: d.maximum } : {}),
      };
    case "boolean":
      return { ...base, type: "boolean" };
    case "string[]":
      return { ...base, type: "array", items: { type: "string", minLength: 1 } };
    case "workers": {
      const props: Record<string, unknown> = {};
      for (const [k, o] of Object.entries(FILE_WORKER_OPTIONS) as Array<[string, WorkerSettingDecl]>) {
        props[k] = {
          type: o.type === "name" ? "string" : o.type,
          description: `${o.doc} (environment: CONDUCTOR_WORKER_<TASK>_${o.env[0]})`,
          ...(o.minimum !== undefined ? { minimum: o.minimum } : {}),
          ...(o.maximum !== undefined ? { maximum: o.maximum } : {}),
          ...(o.type === "string" ? { minLength: 1 } : {}),
          ...(o.type === "name" ? { pattern: NAME_PATTERN.source } : {}),
        };
      }
      return { ...base, type: "object", additionalProperties: { type: "object", additionalProperties: false, properties: props } };
    }
  }
}

let compiled: ReturnType<AjvClass["compile"]> | undefined;

/** ajv is required on first use (synchronously: configuration is resolved synchronously), so modules that never read a file never load it. */
function compileSchema(): ReturnType<AjvClass["compile"]> {
  const { Ajv } = createRequire(import.meta.url)("ajv") as { Ajv: typeof AjvClass };
  return new Ajv({ allErrors: true, strict: true }).compile(configSchema());
}

/** Parse and check the file's text; `problems` are lines like `idflow.config.json:3:5 #/workers/x/concurrency: must be >= 1`. */
export function validateConfigFile(file: string, text: string): { value: unknown; problems: string[] } {
  const errors: ParseError[] = [];
  const tree = parseTree(text, errors, { allowTrailingComma: false, disallowComments: true });
  const at = (offset: number) => {
    const before = text.slice(0, offset).split("\n");
    return `${file}:${before.length}:${before[before.length - 1].length + 1}`;
  };
  if (errors.length > 0 || !tree) {
    const e = errors[0];
    return { value: undefined, problems: [`${e ? at(e.offset) : file}: not valid JSON (${e ? printParseErrorCode(e.error) : "empty file"}): fix the syntax`] };
  }
  const value = JSON.parse(text) as unknown;
  compiled ??= compileSchema();
  if (compiled(value)) return { value, problems: [] };
  const problems = (compiled.errors ?? []).map((e) => describe(e, tree, at));
  return { value, problems: [...new Set(problems)] };
}

function describe(e: ErrorObject, tree: Node, at: (offset: number) => string): string {
  const segments = e.instancePath
    .split("/")
    .slice(1)
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
  const node = findNodeAtLocation(tree, segments);
  let pointer = e.instancePath || "";
  let place = node ? at(node.offset) : at(0);
  let message = e.message ?? "is not valid";
  if (e.keyword === "additionalProperties") {
    const key = String((e.params as { additionalProperty: string }).additionalProperty);
    pointer = `${pointer}/${key}`;
    const keyNode = findNodeAtLocation(tree, [...segments, key])?.parent;
    if (keyNode) place = at(keyNode.offset);
    const known = segments.length === 0 ? CONFIG_OPTIONS.filter((d) => !d.notInFile).map((d) => d.key) : Object.keys(FILE_WORKER_OPTIONS);
    const secret = CONFIG_OPTIONS.find((d) => d.key === key && d.notInFile);
    message = secret
      ? `"${key}" does not belong in this file: ${secret.secret ? `set ${secret.env?.[0]} in the environment, or point authFile at a file kept out of version control` : `use --${secret.flag} or ${secret.env?.[0]}`}`
      : `unknown key "${key}": known keys are ${known.join(", ")}; remove it or check its spelling`;
  } else if (e.keyword === "pattern") {
    const d = CONFIG_OPTIONS.find((o) => o.key === segments[0] && segments.length === 1);
    message = `must look like ${d?.example ? JSON.stringify(d.example) : `/${(e.params as { pattern: string }).pattern}/`}`;
  } else if (e.keyword === "enum") {
    message = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(", ")}`;
  }
  return `${place} #${pointer}: ${message}`;
}
