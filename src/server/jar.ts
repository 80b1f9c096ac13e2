/**
 * Which server jar to run: a jar the user names (`--jar` / IDFLOW_CONDUCTOR_JAR), or the
 * Conductor OSS boot jar resolved through Maven: the requested version (`--conductor-version` /
 * IDFLOW_CONDUCTOR_VERSION) or the pin for this Java. When the pin's boot jar cannot be
 * resolved, the newest version not above it that Maven's metadata lists and that resolves is
 * used. Resolutions are remembered in the cache folder so later starts do not run Maven.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ServerError } from "./errors.ts";
import { findMaven, MavenResolveError, resolveArtifact, versionsInLocalRepo } from "./maven.ts";
import { compareVersions, CONDUCTOR_ARTIFACT, CONDUCTOR_CLASSIFIER, CONDUCTOR_GROUP, javaNeededBy, pinnedVersion } from "./versions.ts";

export interface ResolveJarOptions {
  /** The Java major version that will run the jar (chooses the pin). */
  javaMajor: number;
  /** A jar file to use as is (`--jar`); falls back to IDFLOW_CONDUCTOR_JAR. */
  jar?: string;
  /** A Conductor version to resolve (`--conductor-version`); falls back to IDFLOW_CONDUCTOR_VERSION, then the pin. */
  version?: string;
  env?: NodeJS.ProcessEnv;
  /** Progress lines for people. */
  onProgress?: (line: string) => void;
}

export interface ResolvedJar {
  jar: string;
  /** The Conductor version, when known. */
  version?: string;
  /** "jar" (given), "cache", "maven" or "maven-fallback". */
  source: string;
  /** Why this server: the jar named, the version asked for, or the pin for the Java found. */
  chosenBy: "jar" | "version" | "pin";
  /** The version asked for (the pin or --conductor-version), when a version was resolved. */
  requested?: string;
}

/** idflow's cache folder: IDFLOW_CACHE_DIR, else $XDG_CACHE_HOME/idflow, else ~/.cache/idflow. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.IDFLOW_CACHE_DIR) return path.resolve(env.IDFLOW_CACHE_DIR);
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "idflow");
}

export async function resolveServerJar(opts: ResolveJarOptions): Promise<ResolvedJar> {
  const env = opts.env ?? process.env;
  const say = opts.onProgress ?? (() => {});
  const givenJar = opts.jar ?? env.IDFLOW_CONDUCTOR_JAR;
  if (givenJar) {
    const jar = path.resolve(givenJar);
    if (!existsSync(jar)) {
      throw new ServerError(
        `the server jar ${jar} (from ${opts.jar ? "--jar" : "IDFLOW_CONDUCTOR_JAR"}) does not exist: fix the path, or leave it out to let idflow resolve Conductor through Maven`,
        2,
        "no-jar",
      );
    }
    const m = /conductor-server-(\d[\w.]*?)(?:-boot)?\.jar$/.exec(path.basename(jar));
    return { jar, version: m?.[1], source: "jar", chosenBy: "jar" };
  }

  const explicit = opts.version ?? env.IDFLOW_CONDUCTOR_VERSION;
  const requested = explicit ?? pinnedVersion(opts.javaMajor);
  const chosen = { chosenBy: explicit ? ("version" as const) : ("pin" as const), requested };
  if (!/^[\w.-]+$/.test(requested)) {
    throw new ServerError(`--conductor-version "${requested}" is not a version such as 3.21.14`, 2, "bad-version");
  }
  const needs = javaNeededBy(requested);
  if (opts.javaMajor < needs) {
    throw new ServerError(
      `Conductor ${requested} needs Java ${needs} or newer, but the java found is Java ${opts.javaMajor}: point JAVA_HOME or --java at a JDK ${needs}+, or choose a version that runs on Java ${opts.javaMajor} (e.g. --conductor-version ${pinnedVersion(opts.javaMajor)})`,
      1,
      "java-too-old",
    );
  }

  const cache = await readCache(env);
  const hit = cache[requested];
  if (hit && existsSync(hit.jar)) return { jar: hit.jar, version: hit.version, source: "cache", ...chosen };

  const mvn = findMaven(env);
  const onWait = (s: number) => say(`  still resolving through Maven (${s}s; the first download is ~400 MB)…`);
  say(`Resolving Conductor ${requested} (${CONDUCTOR_GROUP}:${CONDUCTOR_ARTIFACT}:${CONDUCTOR_CLASSIFIER}) through Maven…`);
  const attempt = async (version: string) =>
    resolveArtifact({ groupId: CONDUCTOR_GROUP, artifactId: CONDUCTOR_ARTIFACT, version, classifier: CONDUCTOR_CLASSIFIER }, { mvn, env, onWait });

  let firstFailure: MavenResolveError;
  try {
    const jar = await attempt(requested);
    await writeCache(env, { ...cache, [requested]: { jar, version: requested } });
    return { jar, version: requested, source: "maven", ...chosen };
  } catch (err) {
    if (!(err instanceof MavenResolveError)) throw err;
    firstFailure = err;
  }
  if (explicit) throw unresolvable(requested, firstFailure, false);

  // The pin did not resolve: ask Maven for the newest version not above it (this fetches the
  // artifact's metadata), then try the versions the metadata lists, newest first.
  say(`  Conductor ${requested} is not available; looking for the newest version not above it…`);
  let candidates: string[] = [];
  try {
    const pom = await resolveArtifact(
      { groupId: CONDUCTOR_GROUP, artifactId: CONDUCTOR_ARTIFACT, version: `[0,${requested}]`, type: "pom" },
      { mvn, env, onWait },
    );
    const newest = path.basename(path.dirname(pom));
    const listed = await versionsInLocalRepo(path.dirname(path.dirname(pom)));
    candidates = [...new Set([newest, ...listed])]
      .filter((v) => compareVersions(v, requested) < 0 && javaNeededBy(v) <= opts.javaMajor)
      .sort((a, b) => compareVersions(b, a));
  } catch (err) {
    if (!(err instanceof MavenResolveError)) throw err;
    throw unresolvable(requested, firstFailure, true, err);
  }
  for (const version of candidates.slice(0, 4)) {
    try {
      const jar = await attempt(version);
      say(`  using Conductor ${version}, the newest resolvable version not above ${requested}`);
      await writeCache(env, { ...cache, [requested]: { jar, version } });
      return { jar, version, source: "maven-fallback", ...chosen };
    } catch (err) {
      if (!(err instanceof MavenResolveError)) throw err;
    }
  }
  throw unresolvable(requested, firstFailure, true);
}

function unresolvable(version: string, failure: MavenResolveError, triedOthers: boolean, second?: MavenResolveError): ServerError {
  const reason = [...failure.mavenSays, ...(second?.mavenSays ?? [])].map((l) => `  maven: ${l}`).join("\n");
  return new ServerError(
    `could not resolve the Conductor server jar ${CONDUCTOR_GROUP}:${CONDUCTOR_ARTIFACT}:${version}:jar:${CONDUCTOR_CLASSIFIER}${triedOthers ? " (nor an older version)" : ""} through Maven.\n${reason || "  maven gave no reason"}\nCheck the version (--conductor-version / IDFLOW_CONDUCTOR_VERSION), your network and Maven settings (~/.m2/settings.xml), or pass a jar you have with --jar <file>`,
    1,
    "unresolvable",
  );
}

type JarCache = Record<string, { jar: string; version: string }>;

/** The version a request (a pin or an explicit version) resolved to last time, if remembered. */
export async function cachedResolution(requested: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  return (await readCache(env))[requested]?.version;
}

async function readCache(env: NodeJS.ProcessEnv): Promise<JarCache> {
  try {
    return JSON.parse(await readFile(path.join(cacheDir(env), "server-jars.json"), "utf8")) as JarCache;
  } catch {
    return {};
  }
}

async function writeCache(env: NodeJS.ProcessEnv, cache: JarCache): Promise<void> {
  try {
    await mkdir(cacheDir(env), { recursive: true });
    await writeFile(path.join(cacheDir(env), "server-jars.json"), `${JSON.stringify(cache, null, 2)}\n`);
  } catch {
    // A cache we cannot write only costs a Maven run next time.
  }
}
