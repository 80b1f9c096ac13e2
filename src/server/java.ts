/**
 * Finding a Java to run Conductor with: `--java` / IDFLOW_JAVA, then JAVA_HOME, then PATH.
 * Checks that it runs and is new enough, and reports its major version.
 */
import { execFile } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { ServerError } from "./errors.ts";
import { MIN_JAVA } from "./versions.ts";

export interface JavaInfo {
  /** The java executable. */
  path: string;
  /** Where it came from: "flag", "IDFLOW_JAVA", "JAVA_HOME" or "PATH". */
  source: string;
  /** Major version (8, 11, 17, 21...). */
  major: number;
  /** The version text, e.g. "17.0.15". */
  version: string;
}

/** The java executable named on PATH, or undefined. */
export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const exts = process.platform === "win32" ? (env.PATHEXT ?? ".EXE;.CMD;.BAT").split(";") : [""];
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const candidate = path.join(dir, name + ext);
      try {
        if (statSync(candidate).isFile()) return candidate;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/** Parses `java -version` output ("openjdk version \"17.0.15\"", "java version \"1.8.0_402\""). */
export function parseJavaVersion(output: string): { major: number; version: string } | undefined {
  const m = /version "([^"]+)"/.exec(output) ?? /(?:openjdk|java) (\d+[\w.+-]*)/i.exec(output);
  if (!m) return undefined;
  const version = m[1];
  const parts = version.split(/[._+-]/).map(Number);
  const major = parts[0] === 1 ? parts[1] : parts[0];
  return Number.isFinite(major) ? { major, version } : undefined;
}

export async function findJava(opts: { java?: string; env?: NodeJS.ProcessEnv } = {}): Promise<JavaInfo> {
  const env = opts.env ?? process.env;
  let candidate: { path: string; source: string } | undefined;
  if (opts.java) candidate = { path: opts.java, source: "--java" };
  else if (env.IDFLOW_JAVA) candidate = { path: env.IDFLOW_JAVA, source: "IDFLOW_JAVA" };
  else if (env.JAVA_HOME) {
    const p = path.join(env.JAVA_HOME, "bin", process.platform === "win32" ? "java.exe" : "java");
    if (!existsSync(p)) {
      throw new ServerError(
        `JAVA_HOME is ${env.JAVA_HOME} but ${p} does not exist: point JAVA_HOME at a JDK ${MIN_JAVA}+ (or unset it to use the java on PATH, or pass --java <path>)`,
        1,
        "no-java",
      );
    }
    candidate = { path: p, source: "JAVA_HOME" };
  } else {
    const p = findOnPath("java", env);
    if (p) candidate = { path: p, source: "PATH" };
  }
  if (!candidate) {
    throw new ServerError(
      `no java found: the local Conductor needs Java ${MIN_JAVA} or newer. Install a JDK (e.g. \`apt install openjdk-17-jre-headless\` or https://adoptium.net), then put it on PATH, set JAVA_HOME, or pass --java <path> (IDFLOW_JAVA)`,
      1,
      "no-java",
    );
  }
  if (!existsSync(candidate.path)) {
    throw new ServerError(
      `java not found at ${candidate.path} (from ${candidate.source}): fix that path, or install a JDK ${MIN_JAVA}+ and put it on PATH`,
      1,
      "no-java",
    );
  }
  const output = await new Promise<string>((resolve, reject) => {
    execFile(candidate!.path, ["-version"], { timeout: 20_000, env }, (err, stdout, stderr) => {
      if (err && !stderr && !stdout) reject(err);
      else resolve(`${stderr}\n${stdout}`);
    });
  }).catch((err: Error) => {
    throw new ServerError(`could not run ${candidate!.path} -version (from ${candidate!.source}): ${err.message}`, 1, "no-java");
  });
  const parsed = parseJavaVersion(output);
  if (!parsed) {
    throw new ServerError(
      `${candidate.path} (from ${candidate.source}) did not say which Java it is (\`-version\` printed: ${output.trim().split("\n")[0] || "nothing"}): point --java / JAVA_HOME at a JDK ${MIN_JAVA}+`,
      1,
      "no-java",
    );
  }
  if (parsed.major < MIN_JAVA) {
    throw new ServerError(
      `${candidate.path} (from ${candidate.source}) is Java ${parsed.version}; the local Conductor needs Java ${MIN_JAVA} or newer. Install a newer JDK and point JAVA_HOME or --java at it`,
      1,
      "java-too-old",
    );
  }
  return { path: candidate.path, source: candidate.source, ...parsed };
}
