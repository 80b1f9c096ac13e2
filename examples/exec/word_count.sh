#!/bin/sh
# A worker in shell: jq reads the task JSON on stdin and prints the result JSON.
exec jq -c '{
  status: "COMPLETED",
  output: {words: ([(.inputData.text // "") | splits("\\s+") | select(length > 0)] | length), by: "jq"}
}'
