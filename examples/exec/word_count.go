// A worker in Go: the task JSON on stdin, the result JSON on stdout.
// Build it once: go build -o word_count word_count.go
package main

import (
	"encoding/json"
	"os"
	"strings"
)

func main() {
	var task struct {
		InputData struct {
			Text string `json:"text"`
		} `json:"inputData"`
	}
	out := json.NewEncoder(os.Stdout)
	if err := json.NewDecoder(os.Stdin).Decode(&task); err != nil {
		out.Encode(map[string]any{"status": "FAILED_WITH_TERMINAL_ERROR", "reason": err.Error()})
		return
	}
	words := len(strings.Fields(task.InputData.Text))
	out.Encode(map[string]any{"status": "COMPLETED", "output": map[string]any{"words": words, "by": "go"}})
}
