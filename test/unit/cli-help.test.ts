/**
 * The CLI as a person reads it: help for every command, at 80 and 100 columns, breaks lines
 * only between words; every duration flag names its unit; a mistyped number is repeated back.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { buildCli } from "../../cli/main.ts";

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../cli/bin.js");

/** The help text of `idflow <command...> --help` at `width` columns (null: unwrapped), in process (nothing printed, no exit). */
function help(command: string[], width: number | null): Promise<string> {
  const args = [...command, "--help"];
  return new Promise((resolve, reject) => {
    buildCli(args, width)
      .exitProcess(false)
      .parse(args, {}, (err: Error | undefined, _argv: unknown, output: string) => (err ? reject(err) : resolve(output)));
  });
}

/** Every command path, found by walking the "Commands:" sections of the help. */
async function allCommands(): Promise<string[][]> {
  const found: string[][] = [[]];
  for (let i = 0; i < found.length; i++) {
    const text = await help(found[i]!, null);
    const section = text.split(/^Commands:$/m)[1]?.split(/^\S/m)[0] ?? "";
    for (const line of section.split("\n")) {
      const m = /^\s+idflow\s+(.+?)\s{2,}/.exec(line);
      if (!m) continue;
      const words = m[1]!.split(/\s+/).filter((w) => !/^[[<]/.test(w));
      if (words.length > found[i]!.length && !found.some((f) => f.join(" ") === words.join(" "))) found.push(words);
    }
  }
  return found;
}

// yargs may set the type column right against the description ("output[boolean]"): not a cut word.
const words = (text: string) =>
  new Set(
    text
      .replace(/(\S)\[/g, "$1 [")
      .split(/\s+/)
      .filter(Boolean),
  );

describe("idflow help", async () => {
  const commands = await allCommands();

  test("every command is reached (the walk found the command groups)", () => {
    const names = commands.map((c) => c.join(" "));
    for (const expected of ["init", "task new", "worker start", "workflow run", "server start"])
      assert.ok(names.includes(expected), `${expected} not found in ${names.join(", ")}`);
  });

  for (const width of [80, 100]) {
    test(`no word is cut at ${width} columns`, async () => {
      for (const command of commands) {
        const wide = words(await help(command, null));
        const text = await help(command, width);
        const cut = [...words(text)].filter((w) => !wide.has(w));
        assert.deepEqual(cut, [], `idflow ${command.join(" ")} --help at ${width} columns cuts words:\n${text}`);
        for (const line of text.split("\n")) assert.ok(line.length <= width, `idflow ${command.join(" ")} --help: a line is wider than ${width}: ${line}`);
      }
    });
  }

  test("every duration flag says its unit (in its name or as 'in seconds' / 'in milliseconds')", async () => {
    const seen: string[] = [];
    for (const command of commands) {
      for (const line of (await help(command, null)).split("\n")) {
        const m = /^\s+(--[\w-]+)(?:,\s+-\w)?\s{2,}(.*\[number\].*)$/.exec(line) ?? /^\s+-\w,\s+(--[\w-]+)\s{2,}(.*\[number\].*)$/.exec(line);
        if (!m) continue;
        const [, flag, rest] = m as unknown as [string, string, string];
        const isDuration = /timeout|interval|grace|delay|wait|ttl|period|deadline|every|after/.test(flag) || /seconds|milliseconds|\bms\b/.test(rest);
        if (!isDuration) continue;
        seen.push(`${command.join(" ")} ${flag}`);
        assert.ok(
          /-(ms|seconds)$/.test(flag) || /\bin (seconds|milliseconds)\b/.test(rest),
          `idflow ${command.join(" ")} ${flag}: say the unit as "in seconds" or "in milliseconds": ${rest.trim()}`,
        );
      }
    }
    for (const expected of [
      "worker start --poll-interval",
      "worker start --exec-timeout",
      "worker start --shutdown-grace",
      "workflow run --timeout",
      "server stop --timeout",
    ]) {
      assert.ok(seen.includes(expected), `${expected} was not checked (seen: ${seen.join(", ")})`);
    }
  });
});

test("a mistyped number is repeated back as typed, exit 2", () => {
  for (const [args, shown] of [
    [["worker", "start", "--all", "--concurrency", "abc"], '--concurrency expects a number, got "abc"'],
    [["worker", "start", "--all", "--poll-interval=1x"], '--poll-interval expects a number, got "1x"'],
  ] as const) {
    const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, new RegExp(shown.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
  }
});
