/**
 * fetch_url: GET a URL and return its status, content type and text (the only example that
 * needs a network; no example workflow uses it). Stops when the task is aborted.
 */
import { RetryableError, TerminalError, workerTask, type TaskContext } from "idflow";

/** Longest text returned, in characters (the rest is cut: Conductor payloads should stay small). */
export const MAX_TEXT_CHARS = 100_000;

export const fetchUrl = workerTask({
  name: "fetch_url",
  description: "GET a URL: status, content type and text (first 100 000 characters)",
  retryCount: 3,
  retryLogic: "EXPONENTIAL_BACKOFF",
  retryDelaySeconds: 2,
  timeoutSeconds: 120,
  responseTimeoutSeconds: 60,
  concurrency: 8,
  execTimeoutSeconds: 60,
  inputKeys: ["url", "timeoutMs"],
  outputKeys: ["status", "contentType", "text"],
})(async (input: { url: string; timeoutMs?: number }, ctx?: TaskContext) => {
  let url: URL;
  try {
    url = new URL(input?.url);
  } catch {
    throw new TerminalError(`fetch_url: input.url must be an absolute http(s) URL, got ${JSON.stringify(input?.url)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new TerminalError(`fetch_url: only http and https URLs, got ${url.protocol}`);
  const timeoutMs = input.timeoutMs ?? 10_000;
  const signals = [AbortSignal.timeout(timeoutMs), ...(ctx?.signal ? [ctx.signal] : [])];
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.any(signals), redirect: "follow" });
  } catch (err) {
    const e = err as Error;
    throw new RetryableError(`fetch_url: ${url.href}: ${e.name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : e.message}`, { cause: err });
  }
  const text = (await res.text()).slice(0, MAX_TEXT_CHARS);
  if (res.status >= 500) throw new RetryableError(`fetch_url: ${url.href} answered ${res.status}`, { output: { status: res.status } });
  return { status: res.status, contentType: res.headers.get("content-type") ?? "", text };
});
