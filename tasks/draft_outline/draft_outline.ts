/**
 * draft_outline: a blog-post outline from a title and its keywords.
 * Declared as an instance method: idflow constructs OutlineWriter once (no arguments) and
 * binds the method to it, so `this` works.
 */
import { TerminalError, workerTask } from "idflow";

export class OutlineWriter {
  /** Section templates; `{k}` is replaced by a keyword. */
  private readonly sections = ["Why {k} matters", "Getting started with {k}", "Common mistakes with {k}", "{k} in practice"];

  private titleCase(s: string): string {
    return s.replace(/(^|[\s-])(\p{L})/gu, (_, sep: string, c: string) => sep + c.toUpperCase());
  }

  @workerTask({
    name: "draft_outline",
    description: "A blog-post outline (introduction, one section per keyword, conclusion)",
    retryCount: 1,
    timeoutSeconds: 30,
    responseTimeoutSeconds: 30,
    inputKeys: ["title", "keywords"],
    outputKeys: ["outline"],
  })
  async draft(input: { title: string; keywords: string[] }): Promise<{ outline: string[] }> {
    if (typeof input?.title !== "string" || input.title.trim() === "") throw new TerminalError("draft_outline: input.title must be a non-empty string");
    if (!Array.isArray(input.keywords) || !input.keywords.every((k) => typeof k === "string")) {
      throw new TerminalError("draft_outline: input.keywords must be an array of strings");
    }
    const keywords = [...new Set(input.keywords.map((k) => k.trim()).filter(Boolean))].slice(0, 6);
    const outline = [
      `Introduction: ${input.title.trim()}`,
      ...keywords.map((k, i) => this.sections[i % this.sections.length].replace("{k}", this.titleCase(k))),
      keywords.length ? `Conclusion: bringing ${keywords.slice(0, 3).join(", ")} together` : "Conclusion",
    ];
    return { outline };
  }
}
