/** Does a Conductor script (INLINE expression, SWITCH javascript, DO_WHILE loopCondition) parse? */
import { parse, type ecmaVersion } from "acorn";

/** undefined when it parses; otherwise the parser's message with line:column inside the script. */
export function javascriptSyntaxError(code: string, version: ecmaVersion = "latest"): string | undefined {
  try {
    parse(code, { ecmaVersion: version, sourceType: "script", allowReturnOutsideFunction: false });
    return undefined;
  } catch (err) {
    const e = err as { message?: string; loc?: { line: number; column: number } };
    const msg = (e.message ?? String(err)).replace(/\s*\(\d+:\d+\)$/, "");
    return e.loc ? `${msg} at line ${e.loc.line}, column ${e.loc.column + 1} of the script` : msg;
  }
}
