/** Reading Prometheus text in tests. */

/** The value of one series, e.g. metricValue(text, 'task_poll_total{taskType="a"}'); undefined when absent. */
export function metricValue(text: string, series: string): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}
