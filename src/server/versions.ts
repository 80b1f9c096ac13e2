/**
 * Which Conductor OSS release to run, in one place. Releases up to 3.21.22 run on Java 17;
 * 3.21.23 and later need Java 21. When the pinned version's boot jar cannot be resolved, the
 * newest resolvable version not above the pin is used (see jar.ts).
 */

/** Maven coordinates of the runnable server (a Spring Boot jar, classifier `boot`). */
export const CONDUCTOR_GROUP = "org.conductoross";
export const CONDUCTOR_ARTIFACT = "conductor-server";
export const CONDUCTOR_CLASSIFIER = "boot";

/** The oldest Java any supported Conductor runs on. */
export const MIN_JAVA = 17;

/** The pins: the newest release per Java level. */
export const PINS: ReadonlyArray<{ minJava: number; version: string }> = [
  { minJava: 21, version: "3.32.3" },
  { minJava: 17, version: "3.21.22" },
];

/** The first release that needs Java 21. */
const NEEDS_JAVA_21_FROM = "3.21.23";

/** The pinned version for a Java major version. */
export function pinnedVersion(javaMajor: number): string {
  const pin = PINS.find((p) => javaMajor >= p.minJava);
  return (pin ?? PINS[PINS.length - 1]).version;
}

/** The Java major version a Conductor release needs. */
export function javaNeededBy(version: string): number {
  return compareVersions(version, NEEDS_JAVA_21_FROM) >= 0 ? 21 : 17;
}

/** Numeric, dotted comparison ("3.21.9" < "3.21.14"); non-numeric parts compare as text. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/);
  const pb = b.split(/[.-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? "0";
    const y = pb[i] ?? "0";
    const nx = Number(x);
    const ny = Number(y);
    const c = Number.isFinite(nx) && Number.isFinite(ny) ? nx - ny : x.localeCompare(y);
    if (c !== 0) return c < 0 ? -1 : 1;
  }
  return 0;
}

/**
 * Why this Conductor runs, in words for people: the jar named, the version asked for, or the
 * newest release for the Java found; and, when an older Java holds the server on an older line,
 * what to install for the newer one.
 */
export function explainServerChoice(opts: {
  chosenBy: "jar" | "version" | "pin";
  version?: string;
  requested?: string;
  java: { major: number; version: string; path: string; source: string };
}): { why: string; newerLine?: string } {
  const javaSaid = `Java ${opts.java.version} (${opts.java.path}, from ${opts.java.source})`;
  const running = `Conductor ${opts.version ?? "(version unknown)"}`;
  let why: string;
  if (opts.chosenBy === "jar") why = `${running}: the jar named by --jar / IDFLOW_CONDUCTOR_JAR, on ${javaSaid}`;
  else if (opts.chosenBy === "version") why = `${running}: asked for with --conductor-version / IDFLOW_CONDUCTOR_VERSION, on ${javaSaid}`;
  else {
    const fallback =
      opts.requested && opts.version && opts.requested !== opts.version ? ` (the pin ${opts.requested} is not on Maven, so the newest release below it)` : "";
    why = `${running}: the newest release for ${javaSaid}${fallback}`;
  }
  const newest = PINS[0];
  const newerLine =
    opts.chosenBy === "pin" && opts.java.major < newest.minJava
      ? `Conductor ${newest.version} (the current line) needs Java ${newest.minJava}+: install a JDK ${newest.minJava} or newer (e.g. Eclipse Temurin ${newest.minJava}) and point JAVA_HOME or IDFLOW_JAVA at it`
      : undefined;
  return { why, newerLine };
}
