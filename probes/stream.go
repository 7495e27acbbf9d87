package probes

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"sync"
	"time"
)

// streamer runs a tool that prints one line per interval (tegrastats,
// nvidia-smi -lms) and keeps the latest parsed line per key (a GPU index).
// One long-running process costs far less than a process per sample.
type streamer struct {
	env    Env
	name   string
	cmd    *exec.Cmd
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	latest  map[string][]Metric
	at      time.Time
	lastErr error
}

// lineParser parses one line into a key and its metrics.
type lineParser func(line string) (key string, ms []Metric, err error)

// startStreamer starts path and waits, at most the command timeout, for a
// first usable line.
func startStreamer(env Env, path string, args []string, parse lineParser) (*streamer, error) {
	name := filepath.Base(path)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := newCmd(ctx, path, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, unavailable("%s: %v", name, err)
	}
	s := &streamer{env: env, name: name, cmd: cmd, cancel: cancel, done: make(chan struct{}), latest: map[string][]Metric{}}
	first := make(chan struct{})
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(stdout)
		var once sync.Once
		for sc.Scan() {
			key, ms, err := parse(sc.Text())
			now := time.Now()
			s.mu.Lock()
			if err == nil {
				for i := range ms {
					// The line's arrival time, so a line read twice counts once.
					ms[i].At = now
				}
				s.latest[key], s.at = ms, now
				once.Do(func() { close(first) })
			} else {
				s.lastErr = err
			}
			s.mu.Unlock()
		}
		s.mu.Lock()
		s.lastErr = fmt.Errorf("%s exited", name)
		s.mu.Unlock()
		_ = cmd.Wait()
		if cmd.ProcessState != nil {
			env.stats.add(cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime())
		}
	}()
	select {
	case <-first:
		return s, nil
	case <-s.done:
		select {
		case <-first:
			// A usable line came before the tool exited (both were ready
			// when select chose): it is a source whose reads go stale.
			return s, nil
		default:
		}
		s.mu.Lock()
		err := s.lastErr
		s.mu.Unlock()
		cancel()
		return nil, unavailable("%s printed no usable line (%v)", name, err)
	case <-time.After(env.cmdTimeout()):
		s.close()
		return nil, unavailable("%s printed nothing within %v (killed)", name, env.cmdTimeout())
	}
}

// read returns the latest lines, or an error once they are stale: the tool
// prints every interval, so a line older than a few intervals means it
// stalled or died.
func (s *streamer) read() ([]Metric, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	stale := 3*s.env.interval() + 500*time.Millisecond
	if age := time.Since(s.at); age > stale {
		err := fmt.Errorf("%s: no line for %v", s.name, age.Round(time.Millisecond))
		if s.lastErr != nil {
			err = fmt.Errorf("%w: %w", err, s.lastErr)
		}
		return nil, err
	}
	var out []Metric
	for _, ms := range s.latest {
		out = append(out, ms...)
	}
	return out, nil
}

func (s *streamer) close() {
	s.cancel()
	<-s.done
}
