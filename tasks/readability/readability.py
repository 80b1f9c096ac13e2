#!/usr/bin/env python3
"""readability: the Flesch reading ease of a text. An executable task: idflow runs this program
for each task, with the task JSON on stdin, and reads the result JSON from stdout."""
import json
import re
import sys


def syllables(word: str) -> int:
    groups = re.findall(r"[aeiouy]+", word.lower())
    n = len(groups) - (1 if word.lower().endswith("e") and len(groups) > 1 else 0)
    return max(1, n)


def main() -> None:
    task = json.load(sys.stdin)
    text = task["inputData"].get("text")
    if not isinstance(text, str) or not text.strip():
        json.dump({"status": "FAILED_WITH_TERMINAL_ERROR", "reason": "readability: input.text must be a non-empty string"}, sys.stdout)
        return
    words = re.findall(r"[A-Za-z]+(?:'[A-Za-z]+)*", text)
    sentences = max(1, len([s for s in re.split(r"[.!?]+(?:\s|$)", text) if re.search(r"\w", s)]))
    total = sum(syllables(w) for w in words)
    n = max(1, len(words))
    ease = round(206.835 - 1.015 * (n / sentences) - 84.6 * (total / n), 1)
    level = "easy" if ease >= 70 else "standard" if ease >= 50 else "difficult"
    print(f"{len(words)} words, {sentences} sentences, {total} syllables", file=sys.stderr)  # the task's log
    json.dump({"status": "COMPLETED", "output": {"readingEase": ease, "level": level, "syllables": total}}, sys.stdout)


if __name__ == "__main__":
    main()
