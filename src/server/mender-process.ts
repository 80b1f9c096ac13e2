/**
 * The mender's own process, started beside the local server's JVM by startLocalServer: runs
 * WorkflowMender every second and exits when the JVM it serves is gone, when the state file no
 * longer names that JVM (another server took the folder), or on SIGTERM/SIGINT. Its lines go to
 * `.idflow/server/mender.log`. Arguments: the state dir and the JVM's pid.
 */
import { ConductorClient } from "../conductor/client.ts";
import { WorkflowMender } from "./mender.ts";
import { isAlive, readState } from "./state.ts";

const [stateDir, pidArg] = process.argv.slice(2);
const jvmPid = Number(pidArg);
const TICK_MS = 1000;

function ours(): string | undefined {
  const read = readState(stateDir ?? "");
  return read.kind === "ok" && read.state.pid === jvmPid && isAlive(jvmPid) ? read.state.url : undefined;
}

const say = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
const url = ours();
if (!stateDir || !url) {
  say(`mender: no running server with pid ${pidArg} in ${stateDir}: nothing to do`);
  process.exit(0);
}
const client = new ConductorClient({ serverUrl: url, timeoutMs: 30_000 });
const mender = new WorkflowMender(client, { log: (line) => say(`mender: ${line}`) });
let stopping = false;
for (const sig of ["SIGTERM", "SIGINT"] as const)
  process.on(sig, () => {
    stopping = true;
  });
say(`mender: watching ${url} (pid ${jvmPid}) for workflows left RUNNING with nothing to run`);
let lastError = "";
while (!stopping && ours()) {
  try {
    await mender.tick();
    lastError = "";
  } catch (err) {
    const msg = (err as Error).message;
    if (msg !== lastError) say(`mender: ${msg} (trying again each second)`);
    lastError = msg;
  }
  await new Promise((r) => setTimeout(r, TICK_MS));
}
client.close();
say("mender: stopped");
