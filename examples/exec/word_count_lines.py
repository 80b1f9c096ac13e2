#!/usr/bin/env python3
# A persistent worker (idflow worker exec --persistent, or "mode": "lines"):
# one task per line on stdin, one result per line on stdout, for as long as stdin is open.
import json, sys

for line in sys.stdin:  # the loop ends when idflow closes stdin
    task = json.loads(line)
    text = task["inputData"].get("text", "")
    result = {
        "taskId": task["taskId"],  # required: the task this line answers
        "status": "COMPLETED",
        "output": {"words": len(text.split()), "by": "python-lines"},
    }
    print(json.dumps(result), flush=True)  # one line per task, flushed at once
