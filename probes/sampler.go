package probes

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultInterval is the sampling interval when none is configured (10 Hz).
const DefaultInterval = 100 * time.Millisecond

// SamplerConfig configures a Sampler. Zero values are the defaults.
type SamplerConfig struct {
	Root     string        // sysfs/procfs root; "" means "/"
	Interval time.Duration // default DefaultInterval
	// Sources selects sources by name (default: every default-enabled one).
	Sources []string
	// Commands maps tool names (vcgencmd, tegrastats, nvidia-smi) to paths.
	Commands map[string]string
	Meter    []string // external meter command printing watts
	MeterCSV string   // CSV file a USB meter logger appends to
	// ReadTimeout bounds one read of one source (default 1s). A source whose
	// read does not return in time is dropped for the rest of the run.
	ReadTimeout time.Duration
	// CommandTimeout bounds one external command (default ReadTimeout×0.8).
	CommandTimeout time.Duration
	// IdleDuration, when > 0, makes Start measure an "idle" phase this long
	// before it returns, for idle power and active energy.
	IdleDuration time.Duration
	PID          int // process for memory/CPU figures (default: this one)

	// Probes are added to the discovered sources (custom meters, tests).
	Probes map[string]Probe
	// NoDiscovery uses only Probes.
	NoDiscovery bool
	// ReadFile replaces os.ReadFile for sysfs reads (tests).
	ReadFile func(name string) ([]byte, error)
}

type readResult struct {
	ms     []Metric
	err    error
	t0, t1 time.Time
}

// worker owns one probe. It runs on its own locked OS thread so its CPU time
// can be measured, and so a read stuck in the kernel blocks only it.
type worker struct {
	name    string
	probe   Probe
	req     chan context.Context
	resp    chan readResult
	cpu     atomic.Int64 // ns of thread CPU spent reading
	busy    bool         // a request is outstanding (sampler goroutine only)
	dropped string       // why the sampler stopped asking (sampler goroutine only)
	lastErr string
	metrics map[string]bool
}

func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

func (w *worker) loop() {
	runtime.LockOSThread() // never unlocked: a stuck thread is discarded on exit
	for ctx := range w.req {
		c0 := threadCPU()
		t0 := time.Now()
		ms, err := w.probe.Read(ctx)
		t1 := time.Now()
		w.cpu.Add(int64(threadCPU() - c0))
		w.resp <- readResult{ms, err, t0, t1}
	}
}

type trace struct {
	kind   Kind
	scope  Scope
	wrap   float64
	source string
	s      Series
	unread bool // no report figure reads it: its samples are not kept

	tol, maxGap float64 // coverage tolerances, computed once when reporting
	tolSet      bool
}

type mark struct {
	phase string
	t     float64
}

// Sampler samples every available source on one goroutine at a fixed
// interval, and integrates per phase when stopped.
type Sampler struct {
	cfg      SamplerConfig
	env      Env
	stats    *cmdStats
	statuses []Status
	workers  []*worker

	mu      sync.Mutex
	started bool
	stopped bool
	start   time.Time
	marks   []mark
	traces  map[string]*trace
	ticks   []float64 // sample times
	tl      *timeline // downsampled sensor series for Report.Timeline
	report  Report

	stopOnce sync.Once
	kick     chan struct{}
	stopCh   chan struct{}
	loopDone chan struct{}

	loopEnd   time.Time // when the loop saw the end (ctx cancelled or Stop), before its last sample
	tickCount int
	tickWall  time.Duration
	tickMax   time.Duration
	loopCPU   time.Duration
}

// NewSampler opens the configured sources. Sources that are not available are
// kept with their reason for the report.
func NewSampler(cfg SamplerConfig) (*Sampler, error) {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = time.Second
	}
	if cfg.CommandTimeout <= 0 {
		cfg.CommandTimeout = cfg.ReadTimeout * 4 / 5
	}
	s := &Sampler{cfg: cfg, stats: &cmdStats{}, traces: map[string]*trace{}, tl: newTimeline(cfg.Interval.Seconds()),
		kick: make(chan struct{}, 1), stopCh: make(chan struct{}), loopDone: make(chan struct{})}
	s.env = Env{Root: cfg.Root, Commands: cfg.Commands, Meter: cfg.Meter, MeterCSV: cfg.MeterCSV,
		CommandTimeout: cfg.CommandTimeout, Interval: cfg.Interval, PID: cfg.PID, ReadFile: cfg.ReadFile, stats: s.stats}
	if !cfg.NoDiscovery {
		sts, err := Open(s.env, cfg.Sources)
		if err != nil {
			return nil, err
		}
		s.statuses = sts
	}
	names := make([]string, 0, len(cfg.Probes))
	for n := range cfg.Probes {
		for _, st := range s.statuses {
			if st.Name == n {
				Close(s.statuses)
				return nil, fmt.Errorf("probes: SamplerConfig.Probes: %q is a built-in source name", n)
			}
		}
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s.statuses = append(s.statuses, Status{Name: n, Enabled: true, Available: true, probe: cfg.Probes[n]})
	}
	for _, st := range s.statuses {
		if st.probe == nil {
			continue
		}
		s.workers = append(s.workers, &worker{name: st.Name, probe: st.probe,
			req: make(chan context.Context), resp: make(chan readResult, 1), metrics: map[string]bool{}})
	}
	return s, nil
}

// Statuses lists every source with its availability.
func (s *Sampler) Statuses() []Status { return append([]Status(nil), s.statuses...) }

// Start takes a first sample and begins sampling on its own goroutine until
// Stop or until ctx ends (the report then ends there). With IdleDuration set
// it first measures an "idle" phase and returns after it. Stop must be
// called, even after an error, to release the sources.
func (s *Sampler) Start(ctx context.Context) error {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return errors.New("probes: sampler already started")
	}
	s.started = true
	s.start = time.Now()
	s.mu.Unlock()
	s.startWorkers()
	// The first sample is taken before Start returns, so the first phase is
	// covered from its beginning however late the goroutine is scheduled.
	s.tick()
	go s.loop(ctx)
	if s.cfg.IdleDuration > 0 {
		s.Mark("idle")
		select {
		case <-time.After(s.cfg.IdleDuration):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (s *Sampler) startWorkers() {
	for _, w := range s.workers {
		go w.loop()
	}
}

// StartTime is when sampling started: time zero of the report's Timeline
// and Spans (the zero time before Start).
func (s *Sampler) StartTime() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.start
}

// Mark starts phase at this instant. It never blocks: it records the time
// and asks the sampler goroutine for an extra sample at the boundary.
func (s *Sampler) Mark(phase string) {
	s.mu.Lock()
	t := 0.0
	if s.started {
		t = time.Since(s.start).Seconds()
	}
	if !s.stopped {
		s.marks = append(s.marks, mark{phase, t})
	}
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *Sampler) loop(ctx context.Context) {
	defer close(s.loopDone)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c0 := threadCPU()
	defer func() { s.loopCPU = threadCPU() - c0 }()
	tk := time.NewTicker(s.cfg.Interval)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			// The run ends now; the last sample is taken after that instant
			// so that every source covers the end of the last phase.
			s.loopEnd = time.Now()
			s.tick()
			return
		case <-s.stopCh:
			s.loopEnd = time.Now()
			s.tick()
			return
		case <-tk.C:
			s.tick()
		case <-s.kick:
			s.tick()
		}
	}
}

// tick asks every live worker for a reading and waits, at most ReadTimeout,
// for the answers.
func (s *Sampler) tick() {
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ReadTimeout)
	defer cancel()
	var asked []*worker
	for _, w := range s.workers {
		if w.dropped != "" || w.busy {
			continue
		}
		w.busy = true
		w.req <- ctx
		asked = append(asked, w)
	}
	type got struct {
		w *worker
		r readResult
	}
	var results []got
	for _, w := range asked {
		select {
		case r := <-w.resp:
			w.busy = false
			results = append(results, got{w, r})
		case <-ctx.Done():
			w.dropped = fmt.Sprintf("a read did not return within %v; source dropped for the rest of the run", s.cfg.ReadTimeout)
		}
	}
	d := time.Since(t0)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tickCount++
	s.tickWall += d
	if d > s.tickMax {
		s.tickMax = d
	}
	s.ticks = append(s.ticks, t0.Sub(s.start).Seconds())
	var hot tickTemp
	for _, g := range results {
		if g.r.err != nil {
			g.w.lastErr = fmt.Sprintf("at %.3fs: %v", g.r.t1.Sub(s.start).Seconds(), g.r.err)
		}
		mid := g.r.t0.Add(g.r.t1.Sub(g.r.t0) / 2)
		for _, m := range g.r.ms {
			at := mid
			if !m.At.IsZero() {
				at = m.At
			}
			tr := s.traces[m.Name]
			if tr == nil {
				tr = &trace{kind: m.Kind, scope: m.Scope, wrap: m.Wrap, source: g.w.name, unread: unread(m)}
				s.traces[m.Name] = tr
				g.w.metrics[m.Name] = true
			}
			if tr.unread {
				continue
			}
			t := at.Sub(s.start).Seconds()
			if tr.s.Append(t, m.Value) {
				s.tl.add(m, t)
				if m.Kind == KindTemp {
					hot.addTemp(m, t)
				}
			}
		}
	}
	s.tl.addTemp(hot)
}

// unread tells the metrics that no report figure or timeline uses: rail
// voltages and currents (their power is its own metric), informational
// numbers, and per-core frequencies (the mean is). Their samples are not
// kept — a long soak would hold them all for nothing (a Jetson lists a
// dozen such metrics of its ~45) — but the source still lists them.
func unread(m Metric) bool {
	switch m.Kind {
	case KindVoltage, KindCurrent, KindInfo:
		return true
	case KindFreq:
		for _, n := range freqSources {
			if m.Name == n {
				return false
			}
		}
		return true
	}
	return false
}

// Stop ends sampling, closes the sources and returns the report. Calling it
// again returns the same report.
func (s *Sampler) Stop() Report {
	// Concurrent callers wait for the first one's report.
	s.stopOnce.Do(s.stop)
	return s.report
}

func (s *Sampler) stop() {
	s.mu.Lock()
	s.stopped = true
	started := s.started
	s.mu.Unlock()
	stopAt := time.Now()
	if started {
		close(s.stopCh)
		<-s.loopDone
	}
	end := 0.0
	if started {
		// The run ends at Stop, or earlier where a cancelled context ended
		// sampling: what follows was not sampled.
		e := stopAt
		if s.loopEnd.Before(e) {
			e = s.loopEnd
		}
		end = e.Sub(s.start).Seconds()
	}
	for _, w := range s.workers {
		if started {
			close(w.req) // a stuck worker exits when its read returns, if ever
		}
		if w.dropped == "" && !w.busy {
			_ = w.probe.Close()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.report = s.buildReport(end)
}
