/**
 * Sample service, in Go: a worker that waits for jobs by spinning on a flag instead of blocking
 * on a channel, so main.waitForJob keeps one core busy doing nothing. It serves net/http/pprof
 * on a random loopback port: a plain `proctriage PID` finds the endpoint among the target's own
 * listeners, sees a thread pinned at a core (cpu-saturation), takes a short CPU profile and
 * names main.waitForJob.
 *
 * The Go source ships inside this module (the package carries no .go files): the demo writes it
 * to a private temporary directory and builds it there (src/demo/go-build.ts). Like the other
 * samples it prints one JSON ready line on stdout, and with PROCTRIAGE_SERVICE_WATCHDOG=stdin it
 * exits when its stdin closes, so it never outlives the demo.
 */

/** The function the spin happens in, as the CPU profile names it. */
export const BUSY_FUNCTION = 'main.waitForJob';

export const BUSY_WAIT_SOURCE = `// busy-wait: a worker that spins on a flag waiting for a job, for proctriage's demo.
package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime"
	"sync/atomic"
)

// pending is set when a job arrives. Nothing sets it here: the worker waits for ever.
var pending int32

// waitForJob checks the flag again at once instead of blocking on a channel or a sync.Cond:
// one core stays busy doing nothing.
//
//go:noinline
func waitForJob() {
	for atomic.LoadInt32(&pending) == 0 {
	}
}

func main() {
	// one P, as in a container given one CPU: the spinning goroutine keeps its OS thread, the unit
	// the kernel accounts. With more, Go's scheduler moves it between threads whenever other
	// goroutines run (the pprof handlers), and each thread shows a part of the spin.
	runtime.GOMAXPROCS(1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\\n")
		os.Exit(1)
	}
	go http.Serve(ln, nil) // net/http/pprof registers /debug/pprof/ on the default mux
	go waitForJob()
	if os.Getenv("PROCTRIAGE_SERVICE_WATCHDOG") == "stdin" {
		go func() {
			io.Copy(io.Discard, os.Stdin)
			os.Exit(0)
		}()
	}
	line, _ := json.Marshal(map[string]interface{}{
		"ready":   true,
		"service": "busy-wait",
		"pid":     os.Getpid(),
		"pprof":   ln.Addr().(*net.TCPAddr).Port,
	})
	os.Stdout.Write(append(line, '\\n'))
	select {}
}
`;
