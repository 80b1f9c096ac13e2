/**
 * slugify_title: a URL slug for a title ("Ten Ideas — for Café Owners!" -> "ten-ideas-for-cafe-owners").
 * The example of a task with dependencies of its own: tasks/slugify_title/package.json lists
 * `slugify`, installed by `npm install` at the project root (the folder is an npm workspace).
 */
import { TerminalError, workerTask } from "idflow";
import slugifyText from "slugify";

/** Longest slug returned (cut at a word boundary). */
export const MAX_SLUG_LENGTH = 80;

export function slugify(title: string): string {
  // strict: letters and digits only ("&" becomes "and", accents are dropped, "ß" becomes "ss")
  const slug = slugifyText(title.replace(/['’]/g, ""), { lower: true, strict: true, locale: "en" });
  if (slug.length <= MAX_SLUG_LENGTH) return slug;
  const cut = slug.slice(0, MAX_SLUG_LENGTH + 1);
  const at = cut.lastIndexOf("-");
  return (at > 0 ? cut.slice(0, at) : slug.slice(0, MAX_SLUG_LENGTH)).replace(/-+$/, "");
}

export const slugifyTitle = workerTask({
  name: "slugify_title",
  description: "A URL slug for a title",
  retryCount: 0,
  timeoutSeconds: 10,
  responseTimeoutSeconds: 10,
  inputKeys: ["title"],
  outputKeys: ["slug"],
})(async (input: { title: string }) => {
  if (typeof input?.title !== "string" || input.title.trim() === "") {
    throw new TerminalError("slugify_title: input.title must be a non-empty string");
  }
  const slug = slugify(input.title);
  if (!slug) throw new TerminalError(`slugify_title: ${JSON.stringify(input.title)} has no letters or digits to make a slug from`);
  return { slug };
});
