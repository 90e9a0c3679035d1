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
	for _, rt := range m.runtimes() {
		if !rt.runs() {
			continue
		}
		for _, a := range rt.spec().InputAttachments {
			wanted[a.Input] = true
			if a.SecondaryInput != "" {
				wanted[a.SecondaryInput] = true
			}
		}
	}
	m.cfg.Live.Demand(wanted)
}

// runs reports whether the channel runs or is about to: its inputs must
// deliver.
func (rt *runtime) runs() bool {
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	switch rt.rec.State {
	case resource.StateStarting, resource.StateRunning, resource.StateRecovering:
		return true
	case resource.StateUpdating:
		return rt.rec.Desired == resource.StateRunning
	}
	return false
}
