package main

import (
	"fmt"
	"io"
	"net/http"
	"time"
)

// healthcheck asks the admin port's /healthz (or the URL given) and says
// whether the edge is up: a container's HEALTHCHECK, in an image with
// no curl.
func healthcheck(args []string, stderr io.Writer) int {
	url := "http://127.0.0.1:8081/healthz"
	if len(args) > 0 {
		url = args[0]
	}
	client := &http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		fmt.Fprintln(stderr, "edge healthcheck:", err)
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(stderr, "edge healthcheck:", url, "answered", resp.Status)
		return 1
	}
	return 0
}
