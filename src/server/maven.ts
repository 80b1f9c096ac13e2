/**
 * Resolving artifacts through Maven (never raw HTTP), so a company mirror or proxy in the
 * user's settings.xml keeps working. A tiny generated pom with one dependency is resolved
 * with `dependency:build-classpath`, which also tells where the local repository keeps it.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ServerError } from "./errors.ts";
import { findOnPath } from "./java.ts";

export interface MavenDependency {
  groupId: string;
  artifactId: string;
  /** A version or a Maven range such as `[0,3.21.22]`. */
  version: string;
  classifier?: string;
  type?: string;
}

/** `mvn` from IDFLOW_MVN, MAVEN_HOME/M2_HOME, or PATH; a ServerError naming what to install otherwise. */
export function findMaven(env: NodeJS.ProcessEnv = process.env): string {
  const exe = process.platform === "win32" ? "mvn.cmd" : "mvn";
  if (env.IDFLOW_MVN) {
    if (!existsSync(env.IDFLOW_MVN)) {
      throw new ServerError(`mvn not found at ${env.IDFLOW_MVN} (from IDFLOW_MVN): fix the path or unset it to use the mvn on PATH`, 1, "no-mvn");
    }
    return env.IDFLOW_MVN;
  }
  for (const home of [env.MAVEN_HOME, env.M2_HOME]) {
    if (home && existsSync(path.join(home, "bin", exe))) return path.join(home, "bin", exe);
  }
  const onPath = findOnPath(exe, env);
  if (onPath) return onPath;
  throw new ServerError(
    "no mvn found: idflow fetches the Conductor server jar through Maven. Install Maven (e.g. `apt install maven`, `brew install maven`, or https://maven.apache.org/install.html) and put it on PATH (or set IDFLOW_MVN), or pass a server jar you already have with --jar <file> (IDFLOW_CONDUCTOR_JAR)",
    1,
    "no-mvn",
  );
}

/** Thrown when Maven could not resolve; `mavenSays` holds Maven's own [ERROR] lines. */
export class MavenResolveError extends Error {
  constructor(
    readonly coords: string,
    readonly mavenSays: string[],
  ) {
    super(`Maven could not resolve ${coords}${mavenSays.length ? `:\n${mavenSays.map((l) => `  ${l}`).join("\n")}` : ""}`);
    this.name = "MavenResolveError";
  }
}

/**
 * Resolves one dependency (no transitive ones) and returns its file in the local repository.
 * `onWait` is called every few seconds while Maven works (first downloads are large).
 */
export async function resolveArtifact(
  dep: MavenDependency,
  opts: { mvn: string; env?: NodeJS.ProcessEnv; onWait?: (seconds: number) => void; timeoutMs?: number },
): Promise<string> {
  const coords = `${dep.groupId}:${dep.artifactId}:${dep.version}${dep.type ? `:${dep.type}` : ""}${dep.classifier ? `:${dep.classifier}` : ""}`;
  const dir = await mkdtemp(path.join(os.tmpdir(), "idflow-mvn-"));
  try {
    await writeFile(path.join(dir, "pom.xml"), pomFor(dep));
    const out = path.join(dir, "classpath.txt");
    const started = Date.now();
    const timer = opts.onWait ? setInterval(() => opts.onWait!(Math.round((Date.now() - started) / 1000)), 10_000) : undefined;
    let result: { code: number; output: string };
    try {
      result = await run(
        opts.mvn,
        ["-B", "-q", "-Dstyle.color=never", "-f", path.join(dir, "pom.xml"), "dependency:build-classpath", `-Dmdep.outputFile=${out}`],
        {
          cwd: dir,
          env: opts.env ?? process.env,
          timeoutMs: opts.timeoutMs ?? 30 * 60_000,
        },
      );
    } finally {
      if (timer) clearInterval(timer);
    }
    const classpath = existsSync(out) ? (await readFile(out, "utf8")).trim() : "";
    if (result.code !== 0 || !classpath) throw new MavenResolveError(coords, mavenErrors(result.output));
    const file =
      classpath.split(path.delimiter).find((p) => path.basename(path.dirname(path.dirname(p))) === dep.artifactId) ?? classpath.split(path.delimiter)[0];
    if (!existsSync(file)) throw new MavenResolveError(coords, [`Maven reported ${file}, which does not exist`]);
    return file;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The versions Maven's metadata lists for an artifact, read from the local repository after Maven fetched them. */
export async function versionsInLocalRepo(artifactDir: string): Promise<string[]> {
  const { readdir } = await import("node:fs/promises");
  const versions = new Set<string>();
  let files: string[] = [];
  try {
    files = (await readdir(artifactDir)).filter((f) => /^maven-metadata.*\.xml$/.test(f));
  } catch {
    return [];
  }
  for (const f of files) {
    const xml = await readFile(path.join(artifactDir, f), "utf8").catch(() => "");
    for (const m of xml.matchAll(/<version>\s*([^<\s]+)\s*<\/version>/g)) versions.add(m[1]);
  }
  return [...versions];
}

/** Maven's own explanation: its [ERROR] lines without the generic help footer. */
export function mavenErrors(output: string): string[] {
  const lines = stripAnsi(output)
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.startsWith("[ERROR]"))
    .map((l) => l.replace(/^\[ERROR\]\s*/, ""))
    .filter((l) => l && !/^(->|To see the full stack trace|Re-run Maven|For more information about|\[Help \d)/.test(l));
  if (lines.length) return lines.slice(0, 6);
  const tail = stripAnsi(output).trim().split(/\r?\n/).filter(Boolean).slice(-6);
  return tail;
}

function pomFor(dep: MavenDependency): string {
  const x = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  return `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.idflow</groupId>
  <artifactId>idflow-resolve</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>${x(dep.groupId)}</groupId>
      <artifactId>${x(dep.artifactId)}</artifactId>
      <version>${x(dep.version)}</version>${dep.classifier ? `\n      <classifier>${x(dep.classifier)}</classifier>` : ""}${dep.type ? `\n      <type>${x(dep.type)}</type>` : ""}
      <exclusions><exclusion><groupId>*</groupId><artifactId>*</artifactId></exclusion></exclusions>
    </dependency>
  </dependencies>
</project>
`;
}

function run(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd: opts.cwd, env: opts.env, timeout: opts.timeoutMs, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string }) | null;
      if (e && typeof e.code === "string") {
        reject(new ServerError(`could not run ${cmd}: ${e.message}`, 1, "no-mvn"));
        return;
      }
      resolve({ code: e ? (typeof e.code === "number" ? e.code : 1) : 0, output: `${stdout}\n${stderr}` });
    });
  });
}

function stripAnsi(s: string): string {
  // eslint-disable-next-line no-control-regex
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ESC starts the ANSI colour codes Maven prints; removing them is the point
  return s.replace(/\u001b\[[0-9;]*m/g, "");
}
