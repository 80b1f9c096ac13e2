/**
 * text_stats: word, sentence and character counts and an estimated reading time.
 * Declared as a plain function wrapped by workerTask (decorators cannot go on functions).
 */
import { TerminalError, workerTask, type TaskContext } from "idflow";

/** Average adult silent reading speed, words per minute. */
export const WORDS_PER_MINUTE = 200;

export interface TextStats {
  words: number;
  sentences: number;
  characters: number;
  readingTimeMinutes: number;
}

export const textStats = workerTask({
  name: "text_stats",
  description: "Word, sentence and character counts and reading time of a text",
  retryCount: 1,
  timeoutSeconds: 30,
  responseTimeoutSeconds: 30,
  concurrency: 4,
  inputKeys: ["text"],
  outputKeys: ["words", "sentences", "characters", "readingTimeMinutes"],
})(async function textStats(input: { text: string }, ctx?: TaskContext): Promise<TextStats> {
  if (typeof input?.text !== "string") throw new TerminalError("text_stats: input.text must be a string");
  const text = input.text;
  const words = text.match(/[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/gu)?.length ?? 0;
  const sentences = text.split(/[.!?]+(?=\s|$)/).filter((s) => /[\p{L}\p{N}]/u.test(s)).length;
  const characters = [...text].length;
  const readingTimeMinutes = Math.round((words / WORDS_PER_MINUTE) * 10) / 10;
  ctx?.log(`${words} words, ${sentences} sentences`);
  return { words, sentences, characters, readingTimeMinutes };
});
