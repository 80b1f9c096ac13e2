# The official Python SDK (conductor-python) as its README shows it: a @worker_task function
# run by a TaskHandler. Settings come from the bench's environment.
import os

from conductor.client.automator.task_handler import TaskHandler
from conductor.client.configuration.configuration import Configuration
from conductor.client.worker.worker_task import worker_task

NAME = os.environ["BENCH_TASK_NAME"]
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "1"))
POLL_INTERVAL_MS = int(os.environ.get("BENCH_POLL_INTERVAL_MS", "100"))
POLL_TIMEOUT_MS = int(os.environ.get("BENCH_POLL_TIMEOUT_MS", "100"))


@worker_task(task_definition_name=NAME, thread_count=CONCURRENCY, poll_interval_millis=POLL_INTERVAL_MS, poll_timeout=POLL_TIMEOUT_MS)
def bench_noop(task):
    return {}


if __name__ == "__main__":
    url = os.environ["CONDUCTOR_SERVER_URL"].rstrip("/")
    if not url.endswith("/api"):
        url += "/api"
    with TaskHandler(configuration=Configuration(server_api_url=url), scan_for_annotated_workers=True) as handler:
        handler.start_processes()
        handler.join_processes()
