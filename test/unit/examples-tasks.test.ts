import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { TerminalError, RetryableError, type TaskContext } from "../../src/index.ts";
import { Keywords } from "../../tasks/extract_keywords/extract_keywords.ts";
import { textStats } from "../../tasks/text_stats/text_stats.ts";
import { slugify, slugifyTitle } from "../../tasks/slugify_title/slugify_title.ts";
import { OutlineWriter } from "../../tasks/draft_outline/draft_outline.ts";
import { fetchUrl } from "../../tasks/fetch_url/fetch_url.ts";

const ctx = { log: () => {}, signal: new AbortController().signal } as unknown as TaskContext;
const TEXT =
  "Conductor runs workflows. Workers poll Conductor for tasks! Each worker runs tasks and reports results to Conductor. " +
  "Workflows chain tasks; tasks are small.";

describe("extract_keywords", () => {
  test("most frequent meaningful words, ties in order of appearance, stopwords and short words dropped", async () => {
    assert.deepEqual(await Keywords.extract({ text: TEXT, limit: 4 }), { keywords: ["tasks", "conductor", "runs", "workflows"] });
    assert.deepEqual(await Keywords.extract({ text: "The cat's cat and the dog." }), { keywords: ["cat", "dog"] });
    assert.deepEqual(await Keywords.extract({ text: "" }), { keywords: [] });
  });
  test("bad input is terminal", async () => {
    await assert.rejects(Keywords.extract({ text: 3 as unknown as string }), TerminalError);
    await assert.rejects(Keywords.extract({ text: "a", limit: 0 }), /limit must be an integer from 1 to 50/);
  });
});

describe("text_stats", () => {
  test("counts words, sentences, characters and reading time", async () => {
    assert.deepEqual(await textStats({ text: TEXT }, ctx), { words: 23, sentences: 4, characters: [...TEXT].length, readingTimeMinutes: 0.1 });
    assert.deepEqual(await textStats({ text: "" }, ctx), { words: 0, sentences: 0, characters: 0, readingTimeMinutes: 0 });
    const long = "word ".repeat(400);
    assert.equal((await textStats({ text: long }, ctx)).readingTimeMinutes, 2);
  });
  test("bad input is terminal", async () => {
    await assert.rejects(textStats({} as { text: string }, ctx), TerminalError);
  });
});

describe("slugify_title", () => {
  test("a URL slug", async () => {
    assert.deepEqual(await slugifyTitle({ title: "Ten Ideas — for Café Owners!" }), { slug: "ten-ideas-for-cafe-owners" });
    assert.equal(slugify("Tom & Jerry's  Guide"), "tom-and-jerrys-guide");
    const long = slugify("word ".repeat(40));
    assert.ok(long.length <= 80 && !long.endsWith("-") && long.startsWith("word-word"));
  });
  test("a title without letters is terminal", async () => {
    await assert.rejects(slugifyTitle({ title: "!!!" }), /has no letters or digits/);
    await assert.rejects(slugifyTitle({ title: " " }), TerminalError);
  });
});

describe("draft_outline", () => {
  test("introduction, one section per keyword (deduplicated), conclusion; `this` is the instance", async () => {
    const w = new OutlineWriter();
    assert.deepEqual(await w.draft({ title: "Worker frameworks", keywords: ["polling", "retries", "polling", " "] }), {
      outline: ["Introduction: Worker frameworks", "Why Polling matters", "Getting started with Retries", "Conclusion: bringing polling, retries together"],
    });
    assert.deepEqual(await w.draft({ title: "Empty", keywords: [] }), { outline: ["Introduction: Empty", "Conclusion"] });
  });
  test("bad input is terminal", async () => {
    await assert.rejects(new OutlineWriter().draft({ title: "x", keywords: "a" as unknown as string[] }), TerminalError);
  });
});

describe("fetch_url (against a local HTTP server)", () => {
  let server: Server;
  let base: string;
  before(async () => {
    server = createServer((req, res) => {
      if (req.url === "/slow") return void setTimeout(() => res.end("late"), 2000);
      if (req.url === "/boom") return void res.writeHead(503).end("down");
      res.writeHead(200, { "content-type": "text/plain" }).end("hello");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  test("status, content type and text", async () => {
    assert.deepEqual(await fetchUrl({ url: `${base}/hi` }, ctx), { status: 200, contentType: "text/plain", text: "hello" });
  });
  test("a 5xx and a timeout are retryable; a bad URL is terminal", async () => {
    await assert.rejects(fetchUrl({ url: `${base}/boom` }, ctx), RetryableError);
    await assert.rejects(fetchUrl({ url: `${base}/slow`, timeoutMs: 100 }, ctx), /no answer within 100 ms/);
    await assert.rejects(fetchUrl({ url: "not a url" }, ctx), TerminalError);
    await assert.rejects(fetchUrl({ url: "ftp://x" }, ctx), /only http and https/);
  });
});
