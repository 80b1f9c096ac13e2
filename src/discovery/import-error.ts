/**
 * Turning an error thrown while importing a task module into one line a person can act on:
 * a syntax error with its line, a missing package with what to install, a throw at import
 * with the place it came from.
 */
import path from "node:path";

const NS_QUERY = /\?(?:tsx-)?namespace=[^:)\s]*/g;

function clean(s: string): string {
  return s.replace(NS_QUERY, "").replace(/file:\/\//g, "");
}

/** Relative `file:line:col` of the first stack frame inside the project (not node_modules), if any. */
function firstProjectFrame(err: Error, root: string): string | undefined {
  for (const line of (err.stack ?? "").split("\n").slice(1)) {
    const m = /(\/[^():\s]+?)(?:\?[^:)]*)?:(\d+):(\d+)\)?\s*$/.exec(clean(line));
    if (m?.[1].startsWith(root + path.sep) && !m[1].includes(`${path.sep}node_modules${path.sep}`)) {
      return `${path.relative(root, m[1])}:${m[2]}:${m[3]}`;
    }
  }
  return undefined;
}

/** A one-line cause with a hint, for `<file>: failed to load: <this>`. */
export function describeImportError(err: unknown, file: string, root: string): string {
  if (!(err instanceof Error)) return `it threw ${JSON.stringify(err) ?? String(err)} while loading`;
  const e = err as Error & { code?: string; errors?: Array<{ text?: string; location?: { file?: string; line?: number; column?: number } }> };
  const rel = (p: string) => (path.isAbsolute(p) ? path.relative(root, p) : p);

  // esbuild (through tsx): TransformError with structured errors
  if (Array.isArray(e.errors) && e.errors.length > 0 && e.errors[0]?.text) {
    const first = e.errors[0];
    const loc = first.location ? `${rel(clean(first.location.file ?? file))}:${first.location.line}:${(first.location.column ?? 0) + 1}` : rel(file);
    return `syntax error at ${loc}: ${first.text}`;
  }
  const message = clean(e.message ?? String(e)).trim();
  if (/Transform failed with \d+ error/.test(message)) {
    const line = message.split("\n").find((l) => /ERROR:/.test(l)) ?? message.split("\n")[1] ?? message;
    const m = /^(\/[^:]+):(\d+):(\d+): ERROR: (.*)$/.exec(line.trim());
    return m ? `syntax error at ${rel(m[1])}:${m[2]}:${m[3]}: ${m[4]}` : `syntax error: ${line.trim()}`;
  }
  if (e.code === "ERR_MODULE_NOT_FOUND" || e.code === "MODULE_NOT_FOUND") {
    const pkg = /Cannot find (?:package|module) '([^']+)'/.exec(message)?.[1];
    if (pkg && !pkg.startsWith(".") && !path.isAbsolute(pkg)) {
      const name = pkg.startsWith("@") ? pkg.split("/").slice(0, 2).join("/") : pkg.split("/")[0];
      return `cannot find package "${name}": install it (npm i ${name}) or fix the import`;
    }
    return `${message.split("\n")[0]}: check the import path (relative imports need the file extension, e.g. "./helper.ts")`;
  }
  if (e.name === "SyntaxError") {
    const at = firstProjectFrame(e, root);
    return `syntax error${at ? ` at ${at}` : ""}: ${message.split("\n")[0]}`;
  }
  const at = firstProjectFrame(e, root);
  return `${e.name && e.name !== "Error" ? `${e.name}: ` : ""}${message.split("\n")[0]}${at ? ` (thrown at ${at})` : ""} — the module must not throw when imported`;
}
