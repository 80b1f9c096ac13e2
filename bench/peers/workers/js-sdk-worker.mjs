// The official JavaScript SDK (@io-orkes/conductor-javascript) as its README shows it: a
// TaskHandler with one worker object, no-op execute. Settings come from the bench's env.
import { createConductorClient, TaskHandler } from "@io-orkes/conductor-javascript";

const serverUrl = process.env.CONDUCTOR_SERVER_URL.replace(/\/+$/, "").replace(/\/api$/, "");
const client = await createConductorClient({ serverUrl });
const handler = new TaskHandler({
  client,
  scanForDecorated: false,
  workers: [
    {
      taskDefName: process.env.BENCH_TASK_NAME,
      concurrency: Number(process.env.BENCH_CONCURRENCY ?? 1),
      pollInterval: Number(process.env.BENCH_POLL_INTERVAL_MS ?? 100),
      execute: async () => ({ status: "COMPLETED", outputData: {} }),
    },
  ],
});
await handler.startWorkers();
console.error(`js sdk worker polling ${process.env.BENCH_TASK_NAME}`);
process.on("SIGTERM", async () => {
  await handler.stopWorkers();
  process.exit(0);
});
