/**
 * A JSON document with its source positions: parse with jsonc-parser (strict JSON: no
 * comments, no trailing commas), keep the syntax tree to map JSON pointers to line:column.
 */
import { parseTree, printParseErrorCode, type Node, type ParseError } from "jsonc-parser";
import { fromPointer, type Issue } from "./issues.ts";

export interface JsonSource {
  /** File relative to the project root (POSIX separators), as shown in messages. */
  file: string;
  /** Absolute path. */
  path: string;
  text: string;
  /** The parsed value (undefined when the text has syntax errors). */
  value: unknown;
  tree?: Node;
  lineStarts: number[];
}

export function parseJsonSource(file: string, absPath: string, text: string): { source: JsonSource; issues: Issue[] } {
  const errors: ParseError[] = [];
  const tree = parseTree(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const lineStarts = computeLineStarts(text);
  const source: JsonSource = { file, path: absPath, text, value: undefined, tree, lineStarts };
  const issues: Issue[] = errors.map((e) => {
    const { line, column } = positionOf(lineStarts, e.offset);
    return {
      severity: "error",
      rule: "json-syntax",
      file,
      pointer: "",
      line,
      column,
      message: `JSON syntax error: ${describeParseError(printParseErrorCode(e.error))}`,
      hint: "fix the JSON at that line and column (workflow files are strict JSON: no comments, no trailing commas)",
    };
  });
  if (issues.length === 0) {
    try {
      source.value = JSON.parse(text);
    } catch (err) {
      issues.push({ severity: "error", rule: "json-syntax", file, pointer: "", line: 1, column: 1, message: `JSON syntax error: ${(err as Error).message}` });
    }
  }
  return { source, issues };
}

function describeParseError(code: string): string {
  const words: Record<string, string> = {
    InvalidSymbol: "unexpected character",
    InvalidNumberFormat: "malformed number",
    PropertyNameExpected: "expected a property name in double quotes",
    ValueExpected: "expected a value",
    ColonExpected: "expected ':'",
    CommaExpected: "expected ',' (or a closing bracket)",
    CloseBraceExpected: "expected '}'",
    CloseBracketExpected: "expected ']'",
    EndOfFileExpected: "expected the end of the file after the top-level value",
    InvalidCommentToken: "comments are not allowed in JSON",
    UnexpectedEndOfComment: "unterminated comment",
    UnexpectedEndOfString: "unterminated string",
    UnexpectedEndOfNumber: "unterminated number",
    InvalidUnicode: "invalid \\u escape",
    InvalidEscapeCharacter: "invalid escape character",
    InvalidCharacter: "invalid character in string",
  };
  return words[code] ?? code;
}

/** Line and column (1-based) of the node at a JSON pointer, or of its nearest existing parent. */
export function locate(source: JsonSource, pointer: string): { line: number; column: number } | undefined {
  if (!source.tree) return undefined;
  let node: Node = source.tree;
  let at = node.offset;
  for (const seg of fromPointer(pointer)) {
    let next: Node | undefined;
    let nextAt = 0;
    if (node.type === "object") {
      const prop = node.children?.find((c) => c.children?.[0]?.value === seg);
      next = prop?.children?.[1];
      nextAt = prop?.offset ?? 0; // point at the property name
    } else if (node.type === "array" && /^\d+$/.test(seg)) {
      next = node.children?.[Number(seg)];
      nextAt = next?.offset ?? 0;
    }
    if (!next) break;
    node = next;
    at = nextAt;
  }
  return positionOf(source.lineStarts, at);
}

function computeLineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return starts;
}

function positionOf(lineStarts: number[], offset: number): { line: number; column: number } {
  let lo = 0;
  let hi = lineStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (lineStarts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, column: offset - lineStarts[lo] + 1 };
}
