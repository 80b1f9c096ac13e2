#!/usr/bin/env node
// A worker in Node.js: the task JSON on stdin, the result JSON on stdout.
let raw = "";
process.stdin.on("data", (chunk) => (raw += chunk));
process.stdin.on("end", () => {
  const task = JSON.parse(raw);
  const words = (task.inputData.text ?? "").split(/\s+/).filter(Boolean).length;
  const result = { status: "COMPLETED", output: { words, by: "node" }, logs: [`task ${process.env.TASK_ID}`] };
  process.stdout.write(JSON.stringify(result));
});
