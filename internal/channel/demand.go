package channel

import "github.com/sluice-video/sluice/internal/resource"

// syncDemand tells the live side which inputs running channels use, after
// every state change: inputs Sluice fetches itself (URL_PULL, SRT_CALLER)
// connect to their source only while a running channel needs them, so an
// input that is merely declared makes no connection at all.
func (m *Manager) syncDemand() {
	if m.cfg.Live == nil {
		return
	}
	// One computation at a time, so an older answer never lands last.
	m.demandMu.Lock()
	defer m.demandMu.Unlock()
	wanted := map[string]bool{}
	// own counts, for each wanted input, the runtimes that take it only
	// from a publisher connected to this node (a STANDARD channel without
	// cross-feed); relayed, those that may take it from another node.
	own, relayed := map[string]bool{}, map[string]bool{}
	for _, rt := range append(m.runtimes(), m.seconds()...) {
		if !rt.runs() {
			continue
		}
		spec := rt.spec()
		alone := spec.PipelineCount() > 1 && !spec.CrossFeeds()
		for _, a := range spec.InputAttachments {
			for _, in := range []string{a.Input, a.SecondaryInput} {
				if in == "" {
					continue
				}
				wanted[in] = true
				if alone {
					own[in] = true
				} else {
					relayed[in] = true
				}
			}
		}
	}
	ownOnly := map[string]bool{}
	for in := range own {
		if !relayed[in] {
			ownOnly[in] = true
		}
	}
	m.cfg.Live.Demand(wanted, ownOnly)
}

// runs reports whether the channel's pipeline runs or is about to: its
// inputs must deliver.
func (rt *runtime) runs() bool {
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	if rt.index != 0 {
		return rt.pipe != nil || pipelineWanted(rt.rec.Desired, rt.rec.State, rt.rec.PipelineCount(), rt.index)
	}
	switch rt.rec.State {
	case resource.StateStarting, resource.StateRunning, resource.StateRecovering:
		return true
	case resource.StateUpdating:
		return rt.rec.Desired == resource.StateRunning
	}
	return false
}
