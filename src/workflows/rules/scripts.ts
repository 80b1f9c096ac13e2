/**
 * Scripts: INLINE expressions, SWITCH javascript expressions, DECISION caseExpression and DO_WHILE
 * loopCondition. Conductor before 3.21.21 runs "javascript" with Nashorn in ES5 mode; from 3.21.21
 * with GraalJS. An INLINE expression is an input, so its `${...}` are substituted before it runs;
 * the other scripts are used as written. Before 3.32.0 the server also *runs* a javascript SWITCH
 * expression (and a DECISION caseExpression) at registration, on the unresolved inputParameters.
 */
import vm from "node:vm";
import { javascriptSyntaxError } from "../javascript.ts";
import { isNonEmptyString, type Path, type TaskNode } from "../model.ts";
import type { Rule } from "../rule.ts";

const GRAALJS_FROM = "3.21.21";

interface Script {
  code: string;
  path: Path;
  what: string;
  /** "graaljs" always parses as modern JavaScript; "javascript" is Nashorn ES5 before 3.21.21. */
  engine: "javascript" | "graaljs";
}

/** The scripts a task holds. */
function scriptsOf(node: TaskNode): Script[] {
  const t = node.task;
  const out: Script[] = [];
  const engineOf = (ev: unknown) => (ev === "graaljs" ? "graaljs" : "javascript");
  if (
    node.type === "INLINE" &&
    (node.inputs.evaluatorType === "javascript" || node.inputs.evaluatorType === "graaljs") &&
    isNonEmptyString(node.inputs.expression)
  ) {
    // `${...}` is replaced by its value before the script runs: parse with a stand-in identifier.
    out.push({
      code: node.inputs.expression.replace(/\$\{[^}]*\}/g, "_"),
      path: [...node.path, "inputParameters", "expression"],
      what: "expression",
      engine: engineOf(node.inputs.evaluatorType),
    });
  }
  if (node.type === "SWITCH" && (t.evaluatorType === "javascript" || t.evaluatorType === "graaljs") && isNonEmptyString(t.expression)) {
    out.push({ code: t.expression, path: [...node.path, "expression"], what: "expression", engine: engineOf(t.evaluatorType) });
  }
  if (node.type === "DECISION" && isNonEmptyString(t.caseExpression))
    out.push({ code: t.caseExpression, path: [...node.path, "caseExpression"], what: "caseExpression", engine: "javascript" });
  if (node.type === "DO_WHILE" && isNonEmptyString(t.loopCondition))
    out.push({ code: t.loopCondition, path: [...node.path, "loopCondition"], what: "loopCondition", engine: "javascript" });
  return out;
}

export const scriptSyntax: Rule = {
  id: "script-syntax",
  severity: "error",
  description: "scripts parse as JavaScript",
  fix: "fix the script (for SWITCH expressions and loop conditions, `${...}` is not substituted: read inputs as $.name)",
  types: ["INLINE", "SWITCH", "DECISION", "DO_WHILE"],
  task(node, report) {
    for (const s of scriptsOf(node)) {
      const err = javascriptSyntaxError(s.code);
      if (err) report(s.path, `${s.what} does not parse as JavaScript: ${err}`);
    }
  },
};

export const scriptEs5: Rule = {
  id: "script-es5",
  severity: "error",
  description: 'before 3.21.21, "javascript" scripts run on Nashorn in ES5 mode: const, let, arrow functions, template literals and classes fail',
  versions: { before: GRAALJS_FROM },
  fix: "write the script in ES5 (var, function () {...}, string concatenation), or target Conductor 3.21.21+ (or start the server with CONDUCTOR_NASHORN_ES6_ENABLED=true)",
  types: ["INLINE", "SWITCH", "DECISION", "DO_WHILE"],
  task(node, report, model) {
    for (const s of scriptsOf(node)) {
      if (s.engine !== "javascript" || javascriptSyntaxError(s.code)) continue;
      const err = javascriptSyntaxError(s.code, 5);
      if (err) report(s.path, `${s.what} uses JavaScript newer than ES5, which Conductor ${model.target.version} (Nashorn, ES5) cannot run: ${err}`);
    }
  },
};

export const switchEvaluatedAtRegistration: Rule = {
  id: "switch-eval-at-registration",
  severity: "error",
  description:
    "before 3.32.0 the server runs a javascript SWITCH expression (and a DECISION caseExpression) at registration with $ bound to the unresolved inputParameters, and refuses the workflow when it throws",
  versions: { before: "3.32.0" },
  fix: "guard the expression against missing values (e.g. ($.x && $.x.y) ? ... : ...), or target Conductor 3.32.0+ (which only checks the syntax)",
  types: ["SWITCH", "DECISION"],
  registrationOnly: true,
  task(node, report, model) {
    const t = node.task;
    const code = node.type === "SWITCH" ? (t.evaluatorType === "javascript" ? t.expression : undefined) : t.caseExpression;
    if (!isNonEmptyString(code) || javascriptSyntaxError(code)) return;
    const error = evaluationError(code, node.inputs);
    if (error) {
      report(
        [...node.path, node.type === "SWITCH" ? "expression" : "caseExpression"],
        `Conductor ${model.target.version} evaluates this expression when the workflow is registered, with $ holding the inputParameters as written ("\${...}" not yet resolved), and it throws ${error}: the server refuses the workflow`,
      );
    }
  },
};

/** Run the script the way the server does at registration; the error it throws, if any. */
function evaluationError(code: string, inputs: Record<string, unknown>): string | undefined {
  try {
    new vm.Script(code).runInNewContext({ $: structuredClone(inputs) }, { timeout: 50 });
    return undefined;
  } catch (err) {
    const e = err as { name?: string; message?: string; code?: string };
    // Only what the server's engine would throw as well; a timeout or a host difference is not a finding.
    if (e.name !== "TypeError" && e.name !== "ReferenceError") return undefined;
    return `${e.name}: ${e.message}`;
  }
}

export const SCRIPT_RULES: readonly Rule[] = [scriptSyntax, scriptEs5, switchEvaluatedAtRegistration];
