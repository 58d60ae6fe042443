package build

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Phase is one step of a build, with its time.
type Phase struct {
	Name     string        `json:"name"`
	Duration time.Duration `json:"duration_ns"`
	// Failed is set on the phase that ended the build.
	Failed bool `json:"failed,omitempty"`
}

// buildLog is the build's log file: everything every step printed, with a
// header line per phase. It also keeps the last lines for the failure report.
type buildLog struct {
	mu    sync.Mutex
	f     *os.File
	tail  []string
	part  bytes.Buffer
	echo  io.Writer // -v: the whole log, live
	Path  string
	lines int
}

const tailLines = 30

// newBuildLog makes the log name in the output directory, owned by the
// output's owner (see output.createLog).
func newBuildLog(out *output, name string, echo io.Writer) (*buildLog, error) {
	f, err := out.createLog(name)
	if err != nil {
		return nil, err
	}
	return &buildLog{f: f, Path: out.path(name), echo: echo}, nil
}

// Write takes output of a build step.
func (l *buildLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.f.Write(p); err != nil {
		return 0, err
	}
	if l.echo != nil {
		_, _ = l.echo.Write(p)
	}
	l.part.Write(p)
	for {
		line, err := l.part.ReadString('\n')
		if err != nil {
			// Keep the unfinished line for the next write.
			rest := line
			l.part.Reset()
			l.part.WriteString(rest)
			break
		}
		l.lines++
		l.tail = append(l.tail, strings.TrimRight(line, "\r\n"))
		if len(l.tail) > tailLines {
			l.tail = l.tail[len(l.tail)-tailLines:]
		}
	}
	return len(p), nil
}

// Printf writes a line of pkgbox's own to the log.
func (l *buildLog) Printf(format string, args ...any) {
	fmt.Fprintf(l, format+"\n", args...)
}

// phase writes a phase header, sbuild-style, so the log reads in sections.
func (l *buildLog) phase(name string) {
	l.Printf("\n+------------------------------------------------------------------------------+")
	l.Printf("| %-76s |", name+" ("+time.Now().UTC().Format(time.RFC3339)+")")
	l.Printf("+------------------------------------------------------------------------------+\n")
}

// Tail is the log's last lines.
func (l *buildLog) Tail() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := append([]string(nil), l.tail...)
	if l.part.Len() > 0 {
		out = append(out, l.part.String())
	}
	return out
}

func (l *buildLog) Close() error { return l.f.Close() }
