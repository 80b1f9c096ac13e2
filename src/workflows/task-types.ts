/**
 * Conductor's task types and the server versions that know them (TaskType.java and the system
 * tasks registered by name, read from conductor-oss/conductor at each tag). A type a server does
 * not know is scheduled as a user-defined task: a worker polls it, and the server needs a task
 * definition of the task's name to schedule it.
 */
import { inRange, type VersionRange } from "./target.ts";

/** Types every supported Conductor (3.x) knows. */
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

/** System types added by later releases (the AI module, MCP, agents). */
export const NEWER_TASK_TYPES: ReadonlyArray<{ types: readonly string[]; versions: VersionRange }> = [
  {
    types: [
      "LLM_TEXT_COMPLETE",
      "LLM_CHAT_COMPLETE",
      "LLM_INDEX_TEXT",
      "LLM_SEARCH_INDEX",
      "LLM_GENERATE_EMBEDDINGS",
      "LLM_STORE_EMBEDDINGS",
      "LLM_GET_EMBEDDINGS",
      "LIST_MCP_TOOLS",
      "CALL_MCP_TOOL",
      "GENERATE_IMAGE",
      "GENERATE_AUDIO",
      "GENERATE_VIDEO",
      "GENERATE_PDF",
    ],
    versions: { from: "3.22.0" },
  },
  { types: ["PULL_WORKFLOW_MESSAGES", "JDBC"], versions: { from: "3.30.0" } },
  { types: ["AGENT", "GET_AGENT_CARD", "CANCEL_AGENT", "LIST_API_TOOLS", "PLAN_AND_COMPILE", "PLANNER_CONTEXT_FETCH"], versions: { from: "3.31.0" } },
];

/** Every type idflow knows of, whatever the version (for "did you mean" hints). */
export const ALL_TASK_TYPES: readonly string[] = [...TASK_TYPES, ...NEWER_TASK_TYPES.flatMap((g) => g.types)];

/** The types a server of this version knows. */
export function taskTypesOf(version: string): Set<string> {
  const types = new Set<string>(TASK_TYPES);
  for (const g of NEWER_TASK_TYPES) if (inRange(version, g.versions)) for (const t of g.types) types.add(t);
  return types;
}

/** The version range that brought a newer type, if it is one. */
export function introducedBy(type: string): VersionRange | undefined {
  return NEWER_TASK_TYPES.find((g) => g.types.includes(type))?.versions;
}
