/**
 * extract_keywords: the most frequent meaningful words of a text.
 * Declared as a static class method with the @workerTask decorator.
 */
import { TerminalError, workerTask } from "idflow";
import { STOPWORDS, words } from "./stopwords.ts";

export interface ExtractKeywordsInput {
  text: string;
  /** How many keywords to return (default 5, at most 50). */
  limit?: number;
}

// biome-ignore lint/complexity/noStaticOnlyClass: the example of a decorated static method
export class Keywords {
  @workerTask({
    name: "extract_keywords",
    description: "The most frequent meaningful words of a text (offline, deterministic)",
    retryCount: 2,
    timeoutSeconds: 60,
    responseTimeoutSeconds: 30,
    concurrency: 4,
    inputKeys: ["text", "limit"],
    outputKeys: ["keywords"],
    inputSchema: {
      type: "object",
      properties: { text: { type: "string" }, limit: { type: "integer", minimum: 1, maximum: 50 } },
      required: ["text"],
    },
  })
  static async extract(input: ExtractKeywordsInput): Promise<{ keywords: string[] }> {
    if (typeof input?.text !== "string") throw new TerminalError("extract_keywords: input.text must be a string");
    const limit = input.limit ?? 5;
    if (!Number.isInteger(limit) || limit < 1 || limit > 50) {
      throw new TerminalError(`extract_keywords: input.limit must be an integer from 1 to 50, got ${JSON.stringify(input.limit)}`);
    }
    const counts = new Map<string, { n: number; first: number }>();
    words(input.text).forEach((w, i) => {
      if (w.length < 3 || STOPWORDS.has(w) || /^\d+$/.test(w)) return;
      const c = counts.get(w);
      if (c) c.n++;
      else counts.set(w, { n: 1, first: i });
    });
    // Most frequent first; ties keep the order of first appearance, so the result is deterministic.
    const keywords = [...counts.entries()]
      .sort((a, b) => b[1].n - a[1].n || a[1].first - b[1].first)
      .slice(0, limit)
      .map(([w]) => w);
    return { keywords };
  }
}
