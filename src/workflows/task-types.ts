/** Conductor's task types (TaskType.java plus the newer START_WORKFLOW, HUMAN and NOOP). */
export const TASK_TYPES = [
  "SIMPLE",
  "DYNAMIC",
  "FORK_JOIN",
  "FORK_JOIN_DYNAMIC",
  "DECISION",
  "SWITCH",
  "JOIN",
  "DO_WHILE",
  "SUB_WORKFLOW",
  "START_WORKFLOW",
  "EVENT",
  "WAIT",
  "HUMAN",
  "USER_DEFINED",
  "HTTP",
  "LAMBDA",
  "INLINE",
  "EXCLUSIVE_JOIN",
  "TERMINATE",
  "KAFKA_PUBLISH",
  "JSON_JQ_TRANSFORM",
  "SET_VARIABLE",
  "NOOP",
] as const;

export type TaskType = (typeof TASK_TYPES)[number];

export const KNOWN_TASK_TYPES: ReadonlySet<string> = new Set(TASK_TYPES);

/** Task lists nested inside a task, by the field that holds them. */
export const NESTED_LIST_FIELDS = ["forkTasks", "decisionCases", "defaultCase", "loopOver"] as const;
