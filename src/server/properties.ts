/** The Conductor configuration idflow writes for the local server (see CONDUCTOR.md). */

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
    "loadSample=false",
    `server.port=${opts.port}`,
    "server.address=127.0.0.1",
    "",
  ].join("\n");
}
