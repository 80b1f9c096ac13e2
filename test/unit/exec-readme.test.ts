/** The README's exec examples are the files the end-to-end tests run: a code block after `<!-- examples/exec/F -->` is F, byte for byte. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { repoRoot } from "../fixtures/exec/helpers.ts";

test("README exec examples match examples/exec/ and the line-protocol example is at most 15 lines", () => {
  const readme = readFileSync(path.join(repoRoot, "README.md"), "utf8");
  const blocks = [...readme.matchAll(/<!-- (examples\/exec\/[\w.]+) -->\n```\w*\n([\s\S]*?)```/g)];
  assert.deepEqual(blocks.map((b) => b[1]).sort(), [
    "examples/exec/word_count.go",
    "examples/exec/word_count.mjs",
    "examples/exec/word_count.py",
    "examples/exec/word_count.sh",
    "examples/exec/word_count_lines.py",
  ]);
  for (const [, file, code] of blocks) assert.equal(code, readFileSync(path.join(repoRoot, file), "utf8"), `${file} in the README is the file`);
  const lines = readFileSync(path.join(repoRoot, "examples/exec/word_count_lines.py"), "utf8").trimEnd().split("\n");
  assert.ok(lines.length <= 15, `${lines.length} lines`);
});
