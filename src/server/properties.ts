/**
 * The Conductor configuration idflow writes for the local server. Property names were read in
 * the server's source for 3.21.14 and 3.32.x (ConductorProperties, WorkflowReconciler/
 * WorkflowSweeper, SweeperProperties, ExternalPayloadStorageUtils); a property a version does not
 * know is ignored by Spring, so one file serves both. docs/conductor-behaviour.md says why each
 * value was chosen, and why the sweeper keeps Conductor's defaults (on 3.21.14 with SQLite a
 * workflow is swept once: an earlier or faster sweeper spends that sweep early; tried, it broke
 * test/e2e/runtime-recovery.test.ts).
 */

/**
 * Large payloads stay inline, in the SQLite file with the rest of the data. Past its soft
 * thresholds (3 MB task input/output, 5 MB workflow input/output) Conductor moves a payload to
 * "external payload storage", which on a server without S3/Azure/Postgres storage is a fresh
 * `payloads…` folder under java.io.tmpdir at each start (DummyPayloadStorage): after a restart
 * the workflow cannot read it back and stays RUNNING for good. Setting each soft threshold to its
 * hard limit (10240 KB, Conductor's default, kept) means nothing is ever moved out; payloads
 * over the hard limit still fail the task or workflow, as on any Conductor.
 */
export const PAYLOAD_PROPERTIES = [
  "conductor.app.taskInputPayloadSizeThreshold=10240",
  "conductor.app.taskOutputPayloadSizeThreshold=10240",
  "conductor.app.workflowInputPayloadSizeThreshold=10240",
  "conductor.app.workflowOutputPayloadSizeThreshold=10240",
  "conductor.app.maxTaskInputPayloadSizeThreshold=10240",
  "conductor.app.maxTaskOutputPayloadSizeThreshold=10240",
  "conductor.app.maxWorkflowInputPayloadSizeThreshold=10240",
  "conductor.app.maxWorkflowOutputPayloadSizeThreshold=10240",
];

export function serverProperties(opts: { port: number; memory: boolean; dataFile: string }): string {
  const lines = opts.memory
    ? [
        "# in memory: nothing survives a restart, search returns no hits",
        "conductor.db.type=memory",
        "conductor.queue.type=memory",
        "conductor.indexing.enabled=false",
      ]
    : [
        "# SQLite: definitions, executions, queues and search in one file",
        "conductor.db.type=sqlite",
        "conductor.queue.type=sqlite",
        "conductor.indexing.enabled=true",
        "conductor.indexing.type=sqlite",
        "conductor.elasticsearch.version=0",
        // transaction_mode=IMMEDIATE: a transaction takes SQLite's write lock when it begins, so a
        // concurrent writer waits (busy_timeout) instead of failing with SQLITE_BUSY, which the
        // default deferred mode answers at once when a reader upgrades to a writer. Measured on
        // 3.21.14: 60 workflows started at once gave 16 SQLITE_BUSY 500s without it, none with it.
        `spring.datasource.url=jdbc:sqlite:${opts.dataFile.replace(/\\/g, "/")}?busy_timeout=15000&journal_mode=WAL&transaction_mode=IMMEDIATE`,
      ];
  return [
    "# written by `idflow server start`; edited copies are overwritten at the next start",
    ...lines,
    "conductor.workflow-execution-lock.type=local_only",
    "conductor.app.ownerEmailMandatory=false",
    "# large payloads stay in the database (see PAYLOAD_PROPERTIES in src/server/properties.ts)",
    ...PAYLOAD_PROPERTIES,
    "loadSample=false",
    `server.port=${opts.port}`,
    "server.address=127.0.0.1",
    "",
  ].join("\n");
}
