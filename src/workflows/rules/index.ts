/**
 * The rule table: every check idflow runs on a workflow, in the order their issues are reported
 * for one place. Each entry is one small rule with its id, severity, the server versions it
 * applies to and its fix (see ../rule.ts). To add a rule, write it beside its kind and list it here.
 */
import type { Rule } from "../rule.ts";
import { REFERENCE_RULES } from "./references.ts";
import { SCRIPT_RULES } from "./scripts.ts";
import { TASK_FIELD_RULES } from "./task-fields.ts";
import { TASK_SHAPE_RULES } from "./task-shape.ts";
import { WORKFLOW_RULES } from "./workflow.ts";

export const RULES: readonly Rule[] = [...WORKFLOW_RULES, ...TASK_SHAPE_RULES, ...TASK_FIELD_RULES, ...SCRIPT_RULES, ...REFERENCE_RULES];
