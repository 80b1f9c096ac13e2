#!/usr/bin/env python3
# A worker in Python: the task JSON on stdin, the result JSON on stdout.
import json, sys

task = json.load(sys.stdin)
text = task["inputData"].get("text", "")
print(f"counting words for task {task['taskId']}", file=sys.stderr)  # -> the task's log
result = {"status": "COMPLETED", "output": {"words": len(text.split()), "by": "python"}}
json.dump(result, sys.stdout)
