/**
 * Registration -> Conductor TaskDef JSON. Every task-definition option maps to the field of
 * the same name; what the decorator leaves out comes from TASK_DEFAULTS. JSON Schemas are
 * wrapped the way Conductor's TaskDef carries them (a SchemaDef: name, version, type JSON, data).
 */
import type { TaskDef } from "../conductor/types.ts";
import { TASK_DEFAULTS } from "../task/options.ts";
import type { Registration } from "../task/registration.ts";

function schemaDef(name: string, data: Record<string, unknown>): Record<string, unknown> {
  return { name, version: 1, type: "JSON", data };
}

/** The task definition idflow uploads for a registration (stable key order, no undefined values). */
/** The fields toTaskDef always fills (from the options or TASK_DEFAULTS). */
export type UploadedTaskDef = TaskDef &
  Required<Pick<TaskDef, "retryCount" | "retryLogic" | "retryDelaySeconds" | "backoffScaleFactor" | "timeoutPolicy" | "responseTimeoutSeconds">>;

export function toTaskDef(reg: Registration): UploadedTaskDef {
  const o = reg.options;
  const def: UploadedTaskDef = {
    name: reg.name,
    ...(o.description !== undefined ? { description: o.description } : {}),
    retryCount: o.retryCount ?? TASK_DEFAULTS.retryCount,
    retryLogic: o.retryLogic ?? TASK_DEFAULTS.retryLogic,
    retryDelaySeconds: o.retryDelaySeconds ?? TASK_DEFAULTS.retryDelaySeconds,
    backoffScaleFactor: o.backoffScaleFactor ?? TASK_DEFAULTS.backoffScaleFactor,
    timeoutSeconds: o.timeoutSeconds ?? TASK_DEFAULTS.timeoutSeconds,
    timeoutPolicy: o.timeoutPolicy ?? TASK_DEFAULTS.timeoutPolicy,
    responseTimeoutSeconds: o.responseTimeoutSeconds ?? TASK_DEFAULTS.responseTimeoutSeconds,
    ...(o.pollTimeoutSeconds !== undefined ? { pollTimeoutSeconds: o.pollTimeoutSeconds } : {}),
    concurrentExecLimit: o.concurrentExecLimit ?? TASK_DEFAULTS.concurrentExecLimit,
    rateLimitPerFrequency: o.rateLimitPerFrequency ?? TASK_DEFAULTS.rateLimitPerFrequency,
    rateLimitFrequencyInSeconds: o.rateLimitFrequencyInSeconds ?? TASK_DEFAULTS.rateLimitFrequencyInSeconds,
    ...(o.inputKeys !== undefined ? { inputKeys: [...o.inputKeys] } : {}),
    ...(o.outputKeys !== undefined ? { outputKeys: [...o.outputKeys] } : {}),
    ...(o.inputTemplate !== undefined ? { inputTemplate: structuredClone(o.inputTemplate) } : {}),
    ...(o.ownerEmail !== undefined ? { ownerEmail: o.ownerEmail } : {}),
    ...(o.inputSchema !== undefined ? { inputSchema: schemaDef(`${reg.name}_input`, structuredClone(o.inputSchema)) } : {}),
    ...(o.outputSchema !== undefined ? { outputSchema: schemaDef(`${reg.name}_output`, structuredClone(o.outputSchema)) } : {}),
  };
  return def;
}
