package probes

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// cmdStats accumulates the CPU time spent by the external commands probes
// run, so the sampler can report it as part of its overhead.
type cmdStats struct {
	cpuNanos atomic.Int64
	runs     atomic.Int64
}

func (s *cmdStats) add(d time.Duration) {
	if s != nil {
		s.cpuNanos.Add(int64(d))
		s.runs.Add(1)
	}
}

// newCmd builds a command run without a shell in its own process group, so a
// timeout kills it and anything it started.
func newCmd(ctx context.Context, path string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	// If a grandchild keeps the output pipe open, Wait still returns.
	cmd.WaitDelay = 100 * time.Millisecond
	return cmd
}

// run executes path with args, bounded by the env's command timeout, and
// returns its standard output. The error names the command and says whether
// it timed out.
func (e Env) run(ctx context.Context, path string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, e.cmdTimeout())
	defer cancel()
	cmd := newCmd(ctx, path, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if cmd.ProcessState != nil {
		e.stats.add(cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime())
	}
	name := filepath.Base(path) + " " + strings.Join(args, " ")
	if ctx.Err() == context.DeadlineExceeded {
		return nil, fmt.Errorf("%s: no answer within %v (killed)", name, e.cmdTimeout())
	}
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if i := strings.IndexByte(msg, '\n'); i >= 0 {
			msg = msg[:i]
		}
		if msg != "" {
			return nil, fmt.Errorf("%s: %v: %s", name, err, msg)
		}
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return stdout.Bytes(), nil
}

func (s *cmdStats) totalCPU() time.Duration {
	if s == nil {
		return 0
	}
	return time.Duration(s.cpuNanos.Load())
}

func durationNs(n int64) time.Duration { return time.Duration(n) }
