/**
 * Which decorator mode a task project compiles with: TypeScript's `experimentalDecorators`
 * when its nearest tsconfig.json says so, TC39 standard decorators otherwise (also what tsx
 * uses when there is no tsconfig.json at all).
 */
import { readFileSync } from "node:fs";
import { parse } from "jsonc-parser";
import { findTsconfig } from "../discovery/loader.ts";

export type DecoratorMode = "experimental" | "tc39";

export function decoratorMode(root: string): { mode: DecoratorMode; tsconfig: string | false } {
  const tsconfig = findTsconfig(root);
  if (tsconfig === false) return { mode: "tc39", tsconfig };
  const json = parse(readFileSync(tsconfig, "utf8"), [], { allowTrailingComma: true }) as
    | { compilerOptions?: { experimentalDecorators?: unknown } }
    | undefined;
  return { mode: json?.compilerOptions?.experimentalDecorators === true ? "experimental" : "tc39", tsconfig };
}
