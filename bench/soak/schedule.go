package main

import (
	"context"
	"sync"
	"time"
)

// schedule injects the faults one after the other, every apart from the
// end of one fault's recovery to the start of the next, and ends the
// load: at end, or once minFaults faults have run and recovered when that
// is later, so that a test's faults do not depend on how fast a loaded
// machine recovers.
type schedule struct {
	every     time.Duration
	end       time.Time
	minFaults int
	kinds     []string
	// inject runs one fault and its recovery.
	inject func(ctx context.Context, kind string) faultRecord

	mu     sync.Mutex
	faults []faultRecord
	// stopped is when the load was stopped.
	stopped time.Time
}

// run injects faults until loadCtx ends and calls stopLoad when the load
// is over. A fault and its recovery run to their end (under ctx) even
// when the load stops meanwhile, so that the soak ends on whole servers.
func (s *schedule) run(ctx, loadCtx context.Context, stopLoad context.CancelFunc) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sleep(loadCtx, time.Until(s.end))
		for loadCtx.Err() == nil && s.count() < s.minFaults {
			sleep(loadCtx, 100*time.Millisecond)
		}
		s.mu.Lock()
		s.stopped = time.Now()
		s.mu.Unlock()
		stopLoad()
	}()
	next := time.Now().Add(s.every)
	for i := 0; ; i++ {
		sleep(loadCtx, time.Until(next))
		if loadCtx.Err() != nil || (!time.Now().Before(s.end) && s.count() >= s.minFaults) {
			break
		}
		rec := s.inject(ctx, s.kinds[i%len(s.kinds)])
		s.mu.Lock()
		s.faults = append(s.faults, rec)
		s.mu.Unlock()
		next = time.Now().Add(s.every)
	}
	wg.Wait()
}

func (s *schedule) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.faults)
}
