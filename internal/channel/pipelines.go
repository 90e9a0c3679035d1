package channel

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/store"
)

// A STANDARD channel runs two pipelines, each its own lease, runtime,
// inputs, encoder and timeline: on two nodes of a cluster when it has two
// with room, both on one node otherwise. This file is what the manager
// does for them: it keeps the runtimes of the other pipelines, describes
// every pipeline for the API, counts those that deliver (the metric, the
// events, the channel's state), and hands the pipelines' timelines to the
// channel's merged timeline.

// Merger is the merged timeline of a STANDARD channel on a node that runs
// a pipeline of it: what the origin serves, fed by this node's pipeline
// timelines directly and by the other node's pipeline over
// cluster-internal HTTP. The merge package's type satisfies it.
type Merger interface {
	// Timeline is what the origin serves.
	Timeline() *cmaf.Timeline
	// SetLocal feeds the merge from a pipeline timeline of this node;
	// inputLive says whether that pipeline encodes its input (not fill).
	SetLocal(index int, tl *cmaf.Timeline, inputLive func() bool)
	// SetRemote feeds the merge from the pipeline another node runs, at
	// that node's advertised URL; "" detaches it.
	SetRemote(index int, baseURL string)
	// Remove detaches a pipeline, local or remote.
	Remove(index int)
	Close()
}

// MergeConfig is what a channel's merged timeline is made of
// (Config.Merge).
type MergeConfig struct {
	ChannelID string
	Channel   string
	// Timeline is the configuration of the channel's pipeline timelines
	// (renditions, segment and part lengths, window, availability start,
	// counters), without their hooks.
	Timeline cmaf.Config
	Logger   *slog.Logger
}

// merged is a channel's merged timeline on this node and what feeds it.
type merged struct {
	m Merger
	// key tells the pipeline timelines' settings: a change makes the
	// merged timeline anew.
	key     string
	locals  map[int]bool
	remotes map[int]string
}

// pipelineTimeline hands a pipeline's new timeline to the channel's merged
// timeline on this node, made (anew when the settings changed) for a
// STANDARD channel when the server merges.
func (m *Manager) pipelineTimeline(rt *runtime, tl *cmaf.Timeline, key string, cfg cmaf.Config) {
	if m.cfg.Merge == nil || !rt.standard() {
		return
	}
	m.mergeMu.Lock()
	defer m.mergeMu.Unlock()
	mg := m.merges[rt.id]
	if mg != nil && mg.key != key {
		// The pipelines' renditions or grid changed: a merged timeline of
		// the new shape.
		mg.m.Close()
		delete(m.merges, rt.id)
		mg = nil
	}
	if mg == nil {
		mm, err := m.cfg.Merge(MergeConfig{ChannelID: rt.id, Channel: rt.name(), Timeline: cfg, Logger: m.logger.With("channel", rt.name())})
		if err != nil {
			delete(m.merges, rt.id)
			rt.logger.Error(fmt.Sprintf("the merged timeline of channel %s cannot be made: this node serves pipeline %d's timeline", rt.name(), rt.index), "error", err)
			return
		}
		mg = &merged{m: mm, key: key, locals: map[int]bool{}, remotes: map[int]string{}}
		m.merges[rt.id] = mg
	}
	mg.m.SetLocal(rt.index, tl, rt.inputLive)
	mg.locals[rt.index] = true
	delete(mg.remotes, rt.index)
}

// unmerge detaches a runtime that ends from the channel's merged timeline,
// closed when no pipeline of the channel runs here any more.
func (m *Manager) unmerge(rt *runtime) {
	m.mergeMu.Lock()
	defer m.mergeMu.Unlock()
	mg := m.merges[rt.id]
	if mg == nil || !mg.locals[rt.index] {
		return
	}
	mg.m.Remove(rt.index)
	delete(mg.locals, rt.index)
	if len(mg.locals) == 0 {
		mg.m.Close()
		delete(m.merges, rt.id)
	}
}

// merging reports whether the runtime's timeline feeds the channel's
// merged timeline on this node.
func (m *Manager) merging(rt *runtime) bool {
	m.mergeMu.Lock()
	defer m.mergeMu.Unlock()
	mg := m.merges[rt.id]
	return mg != nil && mg.locals[rt.index]
}

// closeMerges closes every merged timeline of the node once its runtimes
// stopped: nothing feeds them any more (a single server lets no channel
// go, and a fenced runtime does not either).
func (m *Manager) closeMerges() {
	m.mergeMu.Lock()
	defer m.mergeMu.Unlock()
	for id, mg := range m.merges {
		mg.m.Close()
		delete(m.merges, id)
	}
}

// mergeRemotes points each merged timeline of this node at the nodes that
// run the channel's other pipelines, from the live leases.
func (m *Manager) mergeRemotes(leases []store.LeaseRecord) {
	m.mergeMu.Lock()
	defer m.mergeMu.Unlock()
	if len(m.merges) == 0 {
		return
	}
	self := m.cl.SelfID()
	at := map[store.LeaseKey]string{}
	for _, l := range leases {
		if l.Holder != self {
			at[l.Key()] = l.Advertise
		}
	}
	for id, mg := range m.merges {
		for i := range 2 {
			if mg.locals[i] {
				continue
			}
			u := at[store.LeaseKey{ChannelID: id, Pipeline: i}]
			if was, ok := mg.remotes[i]; ok && was == u {
				continue
			}
			mg.m.SetRemote(i, u)
			mg.remotes[i] = u
		}
	}
}

// mergedTimeline is the channel's merged timeline on this node, if any.
func (m *Manager) mergedTimeline(id string) *cmaf.Timeline {
	m.mergeMu.Lock()
	defer m.mergeMu.Unlock()
	if mg := m.merges[id]; mg != nil {
		return mg.m.Timeline()
	}
	return nil
}

// inputLive reports whether the pipeline encodes its input rather than
// fill: what the merge prefers.
func (rt *runtime) inputLive() bool {
	rt.mu.RLock()
	sw := rt.sw
	rt.mu.RUnlock()
	return sw == nil || !sw.Status().Filling
}

// second is this node's runtime of a channel's other pipeline, or nil.
func (m *Manager) second(id string, index int) *runtime {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.others[store.LeaseKey{ChannelID: id, Pipeline: index}]
}

// runtimeOf is this node's runtime of a channel's pipeline, or nil.
func (m *Manager) runtimeOf(id string, index int) *runtime {
	if index == 0 {
		return m.byID(id)
	}
	return m.second(id, index)
}

// seconds are this node's runtimes of other pipelines.
func (m *Manager) seconds() []*runtime {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]*runtime, 0, len(m.others))
	for _, rt := range m.others {
		out = append(out, rt)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].id != out[j].id {
			return out[i].id < out[j].id
		}
		return out[i].index < out[j].index
	})
	return out
}

// record is a copy of what the runtime knows of its channel.
func (rt *runtime) record() store.ChannelRecord {
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	return rt.rec
}

// holdOf is the hold a single server's channel has: its own node holds
// every pipeline.
func holdOf(rec store.ChannelRecord) store.ChannelHold {
	return store.ChannelHold{ID: rec.ID, Name: rec.Name, State: rec.State, Desired: rec.Desired, Generation: rec.Generation, Pipelines: rec.PipelineCount()}
}

// pipelinesChanged runs after every event of a runtime of the channel. On
// a single server it keeps the channel's other pipeline in step with the
// channel's own runtime: started when the channel should run it, told of
// every change (a cluster's follower does that through the database).
func (m *Manager) pipelinesChanged(id string) {
	if m.shared || m.closing.Load() {
		return
	}
	m.secondMu.Lock()
	defer m.secondMu.Unlock()
	rt := m.byID(id)
	sec := m.second(id, 1)
	var rec store.ChannelRecord
	if rt != nil {
		rec = rt.record()
	}
	switch {
	case sec != nil && rt == nil:
		// The channel was deleted.
		h := store.ChannelHold{ID: id, Desired: resource.StateDeleted, State: resource.StateDeleted, Pipelines: 1}
		if sec.hear(h) {
			sec.tell(evFollow{hold: h, readAt: m.cfg.Now()})
		}
	case sec != nil:
		// Told only of a change: pipeline 1's own events run this too,
		// and telling it what it knows would make it run forever.
		if h := holdOf(rec); sec.hear(h) {
			sec.tell(evFollow{hold: h, rec: &rec, readAt: m.cfg.Now()})
		}
	case rt != nil && pipelineWanted(rec.Desired, rec.State, rec.PipelineCount(), 1):
		ctx, cancel := writeContext()
		defer cancel()
		lease, err := m.cl.AcquirePipeline(ctx, rec.ID, rec.Name, 1)
		if err != nil {
			m.logger.Warn(fmt.Sprintf("pipeline 1 of channel %s cannot start", rec.Name), "error", err)
			return
		}
		m.install(m.newRuntime(rec, lease), evBoot{reason: "a single server runs both pipelines of a STANDARD channel"})
	}
}

// hear records what a single server tells pipeline 1's runtime of its
// channel and reports whether that is news to it; m.secondMu is held.
func (rt *runtime) hear(h store.ChannelHold) bool {
	if o := rt.heard; o != nil && o.ID == h.ID && o.Name == h.Name && o.State == h.State && o.Desired == h.Desired &&
		o.Generation == h.Generation && o.Restarts == h.Restarts && o.Pipelines == h.Pipelines {
		return false
	}
	rt.heard = &h
	return true
}

// pipelineReport is the runtime's pipeline as its node reports it.
func (rt *runtime) pipelineReport() resource.PipelineReport {
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	r := resource.PipelineReport{Index: rt.index, Restarts: rt.restarts, Reason: rt.pipeNote, InputActive: true}
	p := rt.pipe
	wanted := pipelineWanted(rt.rec.Desired, rt.rec.State, rt.rec.PipelineCount(), rt.index)
	if rt.index == 0 {
		switch rt.rec.State {
		case resource.StateStarting, resource.StateRunning, resource.StateRecovering, resource.StateUpdating:
		default:
			wanted = false
		}
	}
	switch {
	case p != nil && rt.delivering:
		r.State = resource.PipelineRunning
	case (p != nil || wanted) && rt.restarts == 0 && rt.pipeNote == "":
		r.State = resource.PipelineStarting
	case p != nil || wanted:
		r.State = resource.PipelineRecovering
	default:
		r.State, r.Reason = resource.PipelineIdle, ""
	}
	if p != nil {
		pr := p.lastProgress()
		r.Speed, r.FPS = pr.Speed, pr.FPS
		if sw := rt.sw; sw != nil {
			ss := sw.Status()
			r.ActiveInput, r.InputActive = ss.ActiveInput, !ss.Filling
		}
	}
	if tl := rt.tl; tl != nil && tl.Produced() > 0 && tl.NextNumber() > 0 {
		n := tl.NextNumber() - 1
		r.LastSegment = &n
	}
	return r
}

// liveNodes are the ids of the live nodes of the cluster (nil on a single
// server).
func (m *Manager) liveNodes() map[string]bool {
	if !m.shared {
		return nil
	}
	out := map[string]bool{}
	for _, n := range m.cl.LiveNodes() {
		out[n.ID] = true
	}
	return out
}

// pipelineReports describes each pipeline of a channel: from this node's
// runtime when it runs it, else from its holder's last report (LOST when
// that node is not live), else waiting for a node or idle.
func (m *Manager) pipelineReports(rec store.ChannelRecord, leases []store.LeaseRecord, live map[string]bool) []resource.PipelineReport {
	self := m.cl.SelfID()
	n := rec.PipelineCount()
	byIndex := map[int]store.LeaseRecord{}
	for _, l := range leases {
		if l.ChannelID == rec.ID {
			byIndex[l.Pipeline] = l
		}
	}
	out := make([]resource.PipelineReport, 0, n)
	for i := range n {
		lease, leased := byIndex[i]
		local := m.runtimeOf(rec.ID, i)
		var r resource.PipelineReport
		switch {
		case local != nil && (!m.shared || !leased || lease.Holder == self):
			r = local.pipelineReport()
			if m.shared {
				r.Node = self
			}
		case leased:
			var st liveStatus
			if lease.Status != "" && json.Unmarshal([]byte(lease.Status), &st) == nil && st.Report != nil {
				r = *st.Report
			} else {
				r = resource.PipelineReport{State: resource.PipelineStarting, Reason: "node " + lease.Holder + " took it and has not reported yet", InputActive: true}
			}
			r.Node, r.ReportedAt = lease.Holder, lease.StatusAt
			if live != nil && !live[lease.Holder] {
				r.State = resource.PipelineLost
				r.Reason = "node " + lease.Holder + " stopped heartbeating: the pipeline is placed on another node when its lease expires"
				r.Speed, r.FPS = 0, 0
			}
		case i == 0 && rec.Desired == resource.StateRunning && rec.State != resource.StateCreating && rec.State != resource.StateCreateFailed,
			i > 0 && pipelineWanted(rec.Desired, rec.State, n, i):
			r = resource.PipelineReport{State: resource.PipelineWaiting, Reason: "no node runs it yet: placement gives it to a live node with room", InputActive: true}
		default:
			r = resource.PipelineReport{State: resource.PipelineIdle, InputActive: true}
		}
		r.Index = i
		out = append(out, r)
	}
	return out
}

// describePipelines adds a STANDARD channel's pipelines to its view: each
// pipeline's node, state and figures, its push endpoints, the lag between
// them, why the channel is degraded, and the warning when both run on one
// node.
func (m *Manager) describePipelines(ctx context.Context, ch *resource.Channel, rec store.ChannelRecord, leases []store.LeaseRecord) {
	if rec.PipelineCount() < 2 {
		return
	}
	reps := m.pipelineReports(rec, leases, m.liveNodes())
	if m.cfg.Live != nil && len(rec.InputAttachments) > 0 {
		if in, err := m.store.GetInput(ctx, rec.InputAttachments[0].Input); err == nil && in.Type.IsLive() {
			for i := range reps {
				if reps[i].Node != "" || !m.shared {
					reps[i].InputEndpoints = m.cfg.Live.NodeEndpoints(in, reps[i].Node)
				}
			}
		}
	}
	ch.Pipelines = reps
	ch.PipelineLag = lagOf(reps, rec.Segment().Seconds())
	if ch.State == resource.StateRunning || ch.State == resource.StateRecovering {
		ch.Degraded = degradedReason(reps)
	}
	if w := sharedNodeWarning(reps, m.shared); w != "" {
		ch.Warnings = append(ch.Warnings, w)
	}
}

// lagOf is how far one pipeline's last segment is behind the other's.
func lagOf(reps []resource.PipelineReport, segment float64) *resource.PipelineLag {
	if len(reps) < 2 || reps[0].LastSegment == nil || reps[1].LastSegment == nil ||
		reps[0].State != resource.PipelineRunning || reps[1].State != resource.PipelineRunning {
		return nil
	}
	a, b := *reps[0].LastSegment, *reps[1].LastSegment
	lag := &resource.PipelineLag{Behind: 0, Segments: b - a}
	if a > b {
		lag.Behind, lag.Segments = 1, a-b
	}
	lag.Seconds = float64(lag.Segments) * segment
	return lag
}

// degradedReason says which pipelines do not deliver, and why; "" when
// every pipeline delivers its input.
func degradedReason(reps []resource.PipelineReport) string {
	var why []string
	for _, r := range reps {
		where := ""
		if r.Node != "" {
			where = " on node " + r.Node
		}
		switch {
		case r.State != resource.PipelineRunning:
			w := fmt.Sprintf("pipeline %d%s is %s", r.Index, where, r.State)
			if r.Reason != "" {
				w += ": " + r.Reason
			}
			why = append(why, w)
		case !r.InputActive:
			why = append(why, fmt.Sprintf("pipeline %d%s shows fill: its input is lost", r.Index, where))
		}
	}
	return strings.Join(why, "; ")
}

// sharedNodeWarning says when both pipelines of a channel run on one node.
func sharedNodeWarning(reps []resource.PipelineReport, shared bool) string {
	if len(reps) < 2 {
		return ""
	}
	active := func(r resource.PipelineReport) bool {
		return r.State != resource.PipelineIdle && r.State != resource.PipelineWaiting && r.State != resource.PipelineLost
	}
	if !active(reps[0]) || !active(reps[1]) {
		return ""
	}
	if !shared {
		return "both pipelines run on this server: a single server has no other node to run one on, so they fail together with it"
	}
	if reps[0].Node != "" && reps[0].Node == reps[1].Node {
		return "both pipelines run on node " + reps[0].Node + ": no other live node has room for one, so they fail together with it; one moves to another node as soon as one has room"
	}
	return ""
}

// pipeWatch is what the node last saw of a channel's pipelines: whether
// all of them delivered since the channel last started, and whether a
// degradation was told.
type pipeWatch struct {
	reached, degraded bool
}

// watchPipelines counts the pipelines that deliver of every channel this
// node runs a pipeline of: on the node that reports for the channel (the
// one that holds its lowest pipeline whose node is live) it sets
// sluice_channel_pipelines_running and publishes channel.pipeline.degraded
// when a pipeline stops delivering and channel.pipeline.recovered when all
// deliver again; each channel's own runtime hears how many of its other
// pipelines deliver. leases are the live leases (nil on a single server).
func (m *Manager) watchPipelines(leases []store.LeaseRecord) {
	bases := map[string]*runtime{}
	for _, rt := range m.seconds() {
		if _, ok := bases[rt.id]; !ok {
			bases[rt.id] = rt
		}
	}
	for _, rt := range m.runtimes() {
		bases[rt.id] = rt
	}
	live := m.liveNodes()
	self := m.cl.SelfID()
	m.followed.mu.Lock()
	if m.followed.pipes == nil {
		m.followed.pipes = map[string]pipeWatch{}
	}
	m.followed.mu.Unlock()
	for id, base := range bases {
		rec := base.record()
		reps := m.pipelineReports(rec, leases, live)
		running := 0
		for _, r := range reps {
			if r.State == resource.PipelineRunning {
				running++
			}
		}
		reporter := !m.shared
		for _, r := range reps {
			if r.Node != "" && r.State != resource.PipelineLost {
				reporter = r.Node == self
				break
			}
		}
		if reporter {
			m.cfg.Observer.PipelinesRunning(rec.Name, running)
		} else {
			m.cfg.Observer.PipelinesRunning(rec.Name, -1)
		}
		if own := m.byID(id); own != nil && len(reps) > 1 {
			others := running
			if reps[0].State == resource.PipelineRunning {
				others--
			}
			own.tell(evSiblings{n: others})
		}
		if len(reps) > 1 {
			m.pipelineEvents(rec, reps, running, reporter)
		}
	}
	m.followed.mu.Lock()
	for id := range m.followed.pipes {
		if _, ok := bases[id]; !ok {
			delete(m.followed.pipes, id)
		}
	}
	m.followed.mu.Unlock()
}

// pipelineEvents publishes, from the reporting node, that a STANDARD
// channel that ran on all its pipelines lost one, and that all deliver
// again.
func (m *Manager) pipelineEvents(rec store.ChannelRecord, reps []resource.PipelineReport, running int, reporter bool) {
	m.followed.mu.Lock()
	w := m.followed.pipes[rec.ID]
	runs := rec.Desired == resource.StateRunning && (rec.State == resource.StateRunning || rec.State == resource.StateRecovering)
	var tell *resource.Event
	switch {
	case !runs:
		w = pipeWatch{}
	case running == len(reps):
		if w.degraded && reporter {
			e := channelEvent(resource.EventPipelineRecovered, rec.Name,
				fmt.Sprintf("channel %s: all %d pipelines deliver segments again", rec.Name, len(reps)),
				map[string]string{"pipeline": "all", "running": strconv.Itoa(running)})
			tell = &e
		}
		w = pipeWatch{reached: true}
	case w.reached && !w.degraded:
		w.degraded = true
		if reporter {
			down := reps[0]
			for _, r := range reps {
				if r.State != resource.PipelineRunning {
					down = r
					break
				}
			}
			pipe := strconv.Itoa(down.Index)
			if running == 0 {
				pipe = "all"
			}
			reason := degradedReason(reps)
			msg := fmt.Sprintf("channel %s: %s", rec.Name, reason)
			if running > 0 {
				msg += fmt.Sprintf("; the channel runs on %d of its %d pipelines", running, len(reps))
			}
			e := channelEvent(resource.EventPipelineDegraded, rec.Name, msg,
				map[string]string{"pipeline": pipe, "node": down.Node, "running": strconv.Itoa(running), "reason": reason})
			tell = &e
		}
	}
	m.followed.pipes[rec.ID] = w
	m.followed.mu.Unlock()
	if tell != nil {
		if tell.Type == resource.EventPipelineDegraded {
			m.logger.Warn(tell.Message, "channel", rec.Name)
		} else {
			m.logger.Info(tell.Message, "channel", rec.Name)
		}
		m.cfg.Observer.Event(*tell)
	}
}

// PipelineTimeline is the timeline of a channel's pipeline this node runs
// (the channel by id or name), with whether the pipeline encodes its input
// rather than fill: what the feed serves to the merged timelines of the
// other nodes that run the channel. ok is false when this node does not
// run that pipeline, or it has no timeline yet.
func (m *Manager) PipelineTimeline(channel string, index int) (tl *cmaf.Timeline, inputLive func() bool, ok bool) {
	var rt *runtime
	if index == 0 {
		rt, _ = m.lookup(channel)
	} else {
		for _, s := range m.seconds() {
			if s.index == index && (s.id == channel || s.name() == channel) {
				rt = s
				break
			}
		}
	}
	if rt == nil {
		return nil, nil, false
	}
	if tl = rt.timeline(); tl == nil {
		return nil, nil, false
	}
	return tl, rt.inputLive, true
}
