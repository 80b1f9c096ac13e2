/** The Conductor REST shapes idflow reads and writes. Only the fields we use are typed. */

export type TaskStatus =
  | "SCHEDULED"
  | "IN_PROGRESS"
  | "COMPLETED"
  | "COMPLETED_WITH_ERRORS"
  | "FAILED"
  | "FAILED_WITH_TERMINAL_ERROR"
  | "TIMED_OUT"
  | "CANCELED"
  | "SKIPPED";

export type WorkflowStatus = "RUNNING" | "COMPLETED" | "FAILED" | "TIMED_OUT" | "TERMINATED" | "PAUSED";

/** A task as handed out by a poll. */
export interface Task {
  taskId: string;
  workflowInstanceId: string;
  taskType: string;
  taskDefName?: string;
  referenceTaskName?: string;
  status?: TaskStatus;
  inputData?: Record<string, unknown>;
  outputData?: Record<string, unknown>;
  pollCount?: number;
  retryCount?: number;
  responseTimeoutSeconds?: number;
  callbackAfterSeconds?: number;
  domain?: string;
  workerId?: string;
  workflowType?: string;
  reasonForIncompletion?: string;
  seq?: number;
  startTime?: number;
  endTime?: number;
  scheduledTime?: number;
  updateTime?: number;
  [extra: string]: unknown;
}

export type TaskResultStatus = "IN_PROGRESS" | "COMPLETED" | "FAILED" | "FAILED_WITH_TERMINAL_ERROR";

export interface TaskExecLog {
  log: string;
  taskId: string;
  createdTime: number;
}

/** The body of POST /tasks and /tasks/update-v2. */
export interface TaskResult {
  taskId: string;
  workflowInstanceId: string;
  workerId?: string;
  status: TaskResultStatus;
  outputData?: Record<string, unknown>;
  reasonForIncompletion?: string;
  callbackAfterSeconds?: number;
  logs?: TaskExecLog[];
  extendLease?: boolean;
}

export interface TaskDef {
  name: string;
  description?: string;
  retryCount?: number;
  retryLogic?: "FIXED" | "LINEAR_BACKOFF" | "EXPONENTIAL_BACKOFF";
  retryDelaySeconds?: number;
  backoffScaleFactor?: number;
  timeoutSeconds: number;
  timeoutPolicy?: "RETRY" | "TIME_OUT_WF" | "ALERT_ONLY";
  responseTimeoutSeconds?: number;
  pollTimeoutSeconds?: number;
  concurrentExecLimit?: number;
  rateLimitPerFrequency?: number;
  rateLimitFrequencyInSeconds?: number;
  inputKeys?: string[];
  outputKeys?: string[];
  inputTemplate?: Record<string, unknown>;
  ownerEmail?: string;
  inputSchema?: Record<string, unknown>;
  outputSchema?: Record<string, unknown>;
  enforceSchema?: boolean;
  [extra: string]: unknown;
}

export interface WorkflowTask {
  name: string;
  taskReferenceName: string;
  type?: string;
  inputParameters?: Record<string, unknown>;
  [extra: string]: unknown;
}

export interface WorkflowDef {
  name: string;
  version?: number;
  description?: string;
  schemaVersion?: number;
  tasks: WorkflowTask[];
  inputParameters?: string[];
  outputParameters?: Record<string, unknown>;
  ownerEmail?: string;
  [extra: string]: unknown;
}

export interface Workflow {
  workflowId: string;
  workflowName?: string;
  workflowType?: string;
  version?: number;
  status: WorkflowStatus;
  input?: Record<string, unknown>;
  output?: Record<string, unknown>;
  reasonForIncompletion?: string;
  tasks?: Task[];
  [extra: string]: unknown;
}

export interface StartWorkflowOptions {
  version?: number;
  correlationId?: string;
  priority?: number;
}

export interface BulkResponse {
  bulkSuccessfulResults: string[];
  bulkErrorResults: Record<string, string>;
}

export interface ValidationError {
  path?: string;
  message?: string;
  invalidValue?: unknown;
}

/** Conductor's JSON error body. */
export interface ConductorErrorBody {
  status?: number;
  code?: string;
  message?: string;
  instance?: string;
  retryable?: boolean;
  validationErrors?: ValidationError[];
}
