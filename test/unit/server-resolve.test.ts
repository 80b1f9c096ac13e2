/** Choosing java, the Conductor version and its jar (Maven is a scripted stand-in here; the real one runs in e2e). */
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { findJava, parseJavaVersion } from "../../src/server/java.ts";
import { resolveServerJar } from "../../src/server/jar.ts";
import { explainServerChoice } from "../../src/server/versions.ts";
import { mavenErrors } from "../../src/server/maven.ts";
import { ServerError } from "../../src/server/errors.ts";
import { compareVersions, javaNeededBy, pinnedVersion } from "../../src/server/versions.ts";

const tmp = mkdtempSync(path.join(os.tmpdir(), "idflow-server-resolve-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const emptyBin = path.join(tmp, "empty-bin");
mkdirSync(emptyBin);

describe("versions", () => {
  test("pins by Java level, and which Java a version needs", () => {
    assert.equal(pinnedVersion(17), "3.21.22");
    assert.equal(pinnedVersion(20), "3.21.22");
    assert.equal(pinnedVersion(21), "3.32.3");
    assert.equal(pinnedVersion(25), "3.32.3");
    assert.equal(javaNeededBy("3.21.22"), 17);
    assert.equal(javaNeededBy("3.21.23"), 21);
    assert.equal(javaNeededBy("3.32.3"), 21);
    assert.equal(javaNeededBy("3.21.9"), 17);
  });
  test("compares numerically", () => {
    assert.ok(compareVersions("3.21.9", "3.21.14") < 0);
    assert.ok(compareVersions("3.32.1", "3.21.22") > 0);
    assert.equal(compareVersions("3.21.14", "3.21.14"), 0);
  });
});

describe("java", () => {
  test("parses the versions java prints", () => {
    assert.deepEqual(parseJavaVersion('openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime'), { major: 17, version: "17.0.15" });
    assert.deepEqual(parseJavaVersion('java version "1.8.0_402"'), { major: 8, version: "1.8.0_402" });
    assert.deepEqual(parseJavaVersion('openjdk version "25" 2025-09-16'), { major: 25, version: "25" });
    assert.equal(parseJavaVersion("command not found"), undefined);
  });
  test("--java wins over IDFLOW_JAVA, JAVA_HOME and PATH; JAVA_HOME without bin/java is an error", async () => {
    const fake = path.join(tmp, "fakejava");
    writeFileSync(fake, `#!/bin/sh\necho 'openjdk version "21.0.1" 2023-10-17' >&2\n`);
    chmodSync(fake, 0o755);
    const j = await findJava({ java: fake, env: { PATH: emptyBin, IDFLOW_JAVA: "/nope", JAVA_HOME: "/nope" } });
    assert.deepEqual(j, { path: fake, source: "--java", major: 21, version: "21.0.1" });
    const fromEnv = await findJava({ env: { PATH: emptyBin, IDFLOW_JAVA: fake } });
    assert.equal(fromEnv.source, "IDFLOW_JAVA");
    await assert.rejects(
      findJava({ env: { PATH: emptyBin, JAVA_HOME: "/no/such/jdk" } }),
      (e: unknown) => e instanceof ServerError && e.reason === "no-java" && /JAVA_HOME is \/no\/such\/jdk but/.test(e.message),
    );
    await assert.rejects(findJava({ env: { PATH: emptyBin } }), (e: unknown) => e instanceof ServerError && /^no java found/.test(e.message));
  });
});

describe("resolveServerJar", () => {
  test("a jar the user names: used as is; a missing one is a usage error", async () => {
    const jar = path.join(tmp, "conductor-server-3.21.14-boot.jar");
    writeFileSync(jar, "");
    assert.deepEqual(await resolveServerJar({ javaMajor: 17, jar, env: { PATH: emptyBin } }), { jar, version: "3.21.14", source: "jar", chosenBy: "jar" });
    await assert.rejects(
      resolveServerJar({ javaMajor: 17, jar: "/no/such.jar", env: {} }),
      (e: unknown) => e instanceof ServerError && e.exitCode === 2 && /\/no\/such\.jar \(from --jar\) does not exist/.test(e.message),
    );
  });

  test("a version too new for the Java found is refused before Maven runs", async () => {
    await assert.rejects(
      resolveServerJar({ javaMajor: 17, version: "3.32.3", env: { PATH: emptyBin } }),
      (e: unknown) => e instanceof ServerError && /Conductor 3\.32\.3 needs Java 21 or newer, but the java found is Java 17/.test(e.message),
    );
  });

  test("no mvn: names what to install and the --jar way out", async () => {
    await assert.rejects(
      resolveServerJar({ javaMajor: 17, version: "3.21.14", env: { PATH: emptyBin, IDFLOW_CACHE_DIR: path.join(tmp, "c0") } }),
      (e: unknown) => e instanceof ServerError && e.reason === "no-mvn" && /Install Maven/.test(e.message) && /--jar/.test(e.message),
    );
  });

  test("the pin falls back to the newest resolvable version below it, and is remembered", async () => {
    const { mvn, log } = scriptedMaven({ bootJars: ["3.21.14"], listed: ["3.21.10", "3.21.14", "3.32.3"] });
    const env = { PATH: emptyBin, IDFLOW_MVN: mvn, IDFLOW_CACHE_DIR: path.join(tmp, "c1") };
    const progress: string[] = [];
    const r = await resolveServerJar({ javaMajor: 17, env, onProgress: (l) => progress.push(l) });
    assert.equal(r.version, "3.21.14");
    assert.equal(r.source, "maven-fallback");
    assert.match(r.jar, /3\.21\.14\/conductor-server-3\.21\.14-boot\.jar$/);
    assert.deepEqual(readLog(log), ["3.21.22:boot", "[0,3.21.22]:pom", "3.21.14:boot"]);
    assert.ok(progress.some((l) => /using Conductor 3\.21\.14, the newest resolvable version not above 3\.21\.22/.test(l)));
    const again = await resolveServerJar({ javaMajor: 17, env });
    assert.deepEqual(again, { jar: r.jar, version: "3.21.14", source: "cache", chosenBy: "pin", requested: "3.21.22" });
    const said = explainServerChoice({ ...again, java: { major: 17, version: "17.0.15", path: "/usr/bin/java", source: "PATH" } });
    assert.equal(
      said.why,
      "Conductor 3.21.14: the newest release for Java 17.0.15 (/usr/bin/java, from PATH) (the pin 3.21.22 is not on Maven, so the newest release below it)",
    );
    assert.match(said.newerLine!, /^Conductor 3\.32\.3 \(the current line\) needs Java 21\+: install a JDK 21 or newer .* JAVA_HOME or IDFLOW_JAVA/);
    assert.equal(readLog(log).length, 3, "the second call does not run Maven");
  });

  test("an explicit version that does not resolve shows Maven's reason and does not fall back", async () => {
    const { mvn, log } = scriptedMaven({ bootJars: ["3.21.14"], listed: ["3.21.14"] });
    await assert.rejects(
      resolveServerJar({ javaMajor: 17, version: "0.0.1", env: { PATH: emptyBin, IDFLOW_MVN: mvn, IDFLOW_CACHE_DIR: path.join(tmp, "c2") } }),
      (e: unknown) =>
        e instanceof ServerError &&
        e.reason === "unresolvable" &&
        /org\.conductoross:conductor-server:0\.0\.1:jar:boot through Maven/.test(e.message) &&
        /maven: Failed to execute goal .*Could not find artifact org\.conductoross:conductor-server:jar:boot:0\.0\.1/.test(e.message) &&
        !/Re-run Maven/.test(e.message),
    );
    assert.deepEqual(readLog(log), ["0.0.1:boot"]);
  });

  test("mavenErrors keeps Maven's own [ERROR] lines without the help footer", () => {
    const out =
      "[INFO] x\n\u001b[1;31m[ERROR]\u001b[m Failed to execute goal: Could not resolve\n[ERROR] \n[ERROR] To see the full stack trace of the errors, re-run Maven with the -e switch.\n[ERROR] Re-run Maven using the -X switch\n[ERROR] [Help 1] http://x";
    assert.deepEqual(mavenErrors(out), ["Failed to execute goal: Could not resolve"]);
  });
});

/**
 * A stand-in `mvn` that answers the generated pom like Maven would for a repository holding
 * `bootJars` and listing `listed` in its metadata. Logs each request as "<version>:<classifier|type>".
 */
function scriptedMaven(repo: { bootJars: string[]; listed: string[] }): { mvn: string; log: string } {
  const dir = mkdtempSync(path.join(tmp, "mvn-"));
  const log = path.join(dir, "calls.log");
  const local = path.join(dir, "repository", "org", "conductoross", "conductor-server");
  mkdirSync(local, { recursive: true });
  writeFileSync(
    path.join(local, "maven-metadata-central.xml"),
    `<metadata><versioning><versions>${repo.listed.map((v) => `<version>${v}</version>`).join("")}</versions></versioning></metadata>`,
  );
  const script = `#!${process.execPath}
const fs = require("fs"), path = require("path");
const args = process.argv.slice(2);
const pom = fs.readFileSync(args[args.indexOf("-f") + 1], "utf8");
const out = args.find((a) => a.startsWith("-Dmdep.outputFile=")).split("=")[1];
const version = /<artifactId>conductor-server<\\/artifactId>\\s*<version>([^<]+)</.exec(pom)[1];
const boot = /<classifier>boot</.test(pom);
fs.appendFileSync(${JSON.stringify(log)}, version + (boot ? ":boot" : ":pom") + "\\n");
const local = ${JSON.stringify(local)};
const listed = ${JSON.stringify(repo.listed)}, bootJars = ${JSON.stringify(repo.bootJars)};
function fail() { console.log("[ERROR] Failed to execute goal on project idflow-resolve: Could not find artifact org.conductoross:conductor-server:jar:boot:" + version + " in central\\n[ERROR] Re-run Maven using the -X switch"); process.exit(1); }
let file;
if (version.startsWith("[")) {
  const max = version.slice(1, -1).split(",")[1];
  const cmp = (a, b) => { const x = a.split(".").map(Number), y = b.split(".").map(Number); for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] - y[i]; return 0; };
  const v = listed.filter((l) => cmp(l, max) <= 0).sort(cmp).pop();
  if (!v) fail();
  file = path.join(local, v, "conductor-server-" + v + ".pom");
} else {
  if (!bootJars.includes(version)) fail();
  file = path.join(local, version, "conductor-server-" + version + "-boot.jar");
}
fs.mkdirSync(path.dirname(file), { recursive: true });
fs.writeFileSync(file, "");
fs.writeFileSync(out, file);
`;
  const mvn = path.join(dir, "mvn");
  writeFileSync(mvn, script);
  chmodSync(mvn, 0o755);
  return { mvn, log };
}

function readLog(log: string): string[] {
  try {
    return readFileSync(log, "utf8").trim().split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

describe("explainServerChoice", () => {
  const java25 = { major: 25, version: "25.0.3", path: "/jdk25/bin/java", source: "JAVA_HOME" };
  test("the pin on a current Java needs no advice; a named jar or version says so", () => {
    assert.deepEqual(explainServerChoice({ chosenBy: "pin", version: "3.32.3", requested: "3.32.3", java: java25 }), {
      why: "Conductor 3.32.3: the newest release for Java 25.0.3 (/jdk25/bin/java, from JAVA_HOME)",
      newerLine: undefined,
    });
    assert.match(explainServerChoice({ chosenBy: "jar", version: "3.21.14", java: java25 }).why, /the jar named by --jar/);
    const asked = explainServerChoice({ chosenBy: "version", version: "3.21.14", requested: "3.21.14", java: { ...java25, major: 17 } });
    assert.match(asked.why, /asked for with --conductor-version/);
    assert.equal(asked.newerLine, undefined, "a version the user asked for is not second-guessed");
  });
});
