package channel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/cluster"
	"github.com/sluice-video/sluice/internal/outage"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/store"
)

// A node of a cluster follows the database: on every notification, and
// every Config.FollowEvery besides (a lost notification only delays), it
// reads every channel's hold and
//
//   - hands the channels it holds their rows, so that a command made
//     through another node (desired state, spec) reaches their runtimes;
//   - asks placement which of the channels that should have a holder and
//     have none it takes, and takes them;
//   - applies the inputs and security groups other nodes changed to its
//     live ingest, and restarts the channels it runs on a changed input;
//   - every other pass, reports the live figures of the channels it runs
//     (encoder speed, segments, deliveries), fenced, for the other nodes'
//     API.

// followState is what the follower saw last.
type followState struct {
	mu sync.Mutex
	// inputs are the inputs' names and versions, by id; groups the
	// security groups' version.
	inputs map[string]seenInput
	groups string
	passes int
	// status is the report each held channel made last, by id.
	status map[string]string
	// failing follows the failures to read the database, so that an
	// outage is logged once, and its end once.
	failing *outage.Reporter
	// pipes is what the node saw last of the pipelines of each channel it
	// runs a pipeline of, by channel id.
	pipes map[string]pipeWatch
}

type seenInput struct{ name, version string }

// liveStatus is what a holder reports of a channel's pipeline it runs:
// the channel's own (pipeline 0) with the encoder's figures and the
// deliveries, and the pipeline's report (a STANDARD channel's pipelines).
type liveStatus struct {
	Pipeline   *resource.PipelineStatus  `json:"pipeline,omitempty"`
	Deliveries []resource.DeliveryStatus `json:"deliveries,omitempty"`
	Report     *resource.PipelineReport  `json:"report,omitempty"`
}

// follow is the follower's loop.
func (m *Manager) follow(ctx context.Context) {
	wake, stop := m.cl.Wakes()
	defer stop()
	t := time.NewTicker(m.cfg.FollowEvery)
	defer t.Stop()
	for {
		m.followOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-t.C:
		}
	}
}

// followOnce is one pass of the follower.
func (m *Manager) followOnce(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	readAt := m.cfg.Now()
	holds, err := m.store.ListChannelHolds(ctx)
	if m.followFailed(err) {
		return
	}
	self := m.cl.SelfID()
	var cands []cluster.Candidate
	for _, h := range holds {
		var rec *store.ChannelRecord
		newer := func(gen uint64) *store.ChannelRecord {
			if h.Generation > gen && rec == nil {
				if r, err := m.store.GetChannel(ctx, h.ID); err == nil {
					rec = &r
				}
			}
			return rec
		}
		for i := range max(h.Pipelines, len(h.Holders)) {
			rt := m.runtimeOf(h.ID, i)
			switch {
			case rt != nil && h.HolderOf(i) != self:
				// The lease's loss is the cluster's to tell the runtime.
			case rt != nil:
				rt.tell(evFollow{hold: h, rec: newer(rt.generation()), readAt: readAt})
			case i == 0 && needsHolder(h), i > 0 && h.HolderOf(i) == "" && pipelineWanted(h.Desired, h.State, h.Pipelines, i):
				cands = append(cands, cluster.Candidate{ChannelID: h.ID, Channel: h.Name, Pipeline: i})
			}
		}
	}
	take, err := m.cl.Place(ctx, cands)
	if m.followFailed(err) {
		return
	}
	for _, cd := range take {
		if _, _, err := m.take(ctx, cd.ChannelID, cd.Channel, cd.Pipeline, nil); err != nil && !errors.Is(err, cluster.ErrHeld) && !errors.Is(err, resource.ErrNotFound) {
			m.logger.Warn(fmt.Sprintf("taking %s failed", cluster.PipelineName("channel "+cd.Channel, cd.Pipeline)), "error", err)
		}
	}
	m.spread()
	if m.followFailed(m.followInputs(ctx)) {
		return
	}
	m.followed.mu.Lock()
	m.followed.passes++
	report := m.followed.passes%2 == 0
	m.followed.mu.Unlock()
	if report {
		m.report(ctx)
	}
	if len(m.seconds()) > 0 || m.runsStandard() {
		leases, err := m.store.ListLeases(ctx)
		if m.followFailed(err) {
			return
		}
		m.mergeRemotes(leases)
		m.watchPipelines(leases)
	} else {
		m.watchPipelines(nil)
	}
}

// runsStandard reports whether this node runs a STANDARD channel's own
// pipeline.
func (m *Manager) runsStandard() bool {
	for _, rt := range m.runtimes() {
		if rt.standard() {
			return true
		}
	}
	return false
}

// spread lets a STANDARD channel's other pipeline go when this node runs
// both of its pipelines and another live node has room for one: placement
// puts it there, and the channel runs on two nodes again. Pipeline 0
// must deliver first, so that the channel never stops for the move.
func (m *Manager) spread() {
	for _, sec := range m.seconds() {
		own := m.byID(sec.id)
		if own == nil {
			continue
		}
		own.mu.RLock()
		delivers := own.delivering
		own.mu.RUnlock()
		if delivers && m.cl.RoomElsewhere(sec.id) {
			sec.tell(evHandOff{})
		}
	}
}

// watchAlone is a single server's look at the pipelines of its STANDARD
// channels every Config.FollowEvery: each channel's other pipeline kept
// in step, the pipelines counted.
func (m *Manager) watchAlone(ctx context.Context) {
	t := time.NewTicker(m.cfg.FollowEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, rt := range m.runtimes() {
			m.pipelinesChanged(rt.id)
		}
		m.watchPipelines(nil)
	}
}

// followFailed logs a failed reading of the database once until one
// works; true when err is not nil.
func (m *Manager) followFailed(err error) bool {
	m.followed.mu.Lock()
	if m.followed.failing == nil {
		m.followed.failing = outage.New(m.logger, slog.LevelWarn, m.cfg.Now)
	}
	failures := m.followed.failing
	m.followed.mu.Unlock()
	return failures.Report(err, "reading the channels from the state database failed; this node follows them again when it answers",
		"reading the channels from the state database works again")
}

// needsHolder reports whether a channel that no live lease holds needs a
// node: it should run or be deleted, or a node left it halfway (creating,
// updating, running, stopping).
func needsHolder(h store.ChannelHold) bool {
	if h.Holder != "" {
		return false
	}
	switch {
	case h.Desired == resource.StateDeleted:
		return true
	case h.State == resource.StateCreateFailed:
		return false
	case h.Desired == resource.StateRunning:
		return true
	}
	return h.State != resource.StateIdle && h.State != resource.StateFailed
}

// take makes this node the holder of a channel's pipeline: it acquires
// the lease, reads the channel as the lease makes it this node's, and runs
// its runtime from a boot, then carries out then (a command) before the
// channel may be let go. A pipeline whose runtime is on the node already
// is answered with it (fresh false).
func (m *Manager) take(ctx context.Context, id, name string, pipeline int, then *envelope) (rt *runtime, fresh bool, err error) {
	m.adopt.Lock()
	defer m.adopt.Unlock()
	if rt := m.runtimeOf(id, pipeline); rt != nil {
		return rt, false, nil
	}
	lease, err := m.cl.AcquirePipeline(ctx, id, name, pipeline)
	if err != nil {
		return nil, false, err
	}
	rec, err := m.store.GetChannel(ctx, id)
	if err != nil {
		_ = m.cl.Release(ctx, lease)
		return nil, false, err
	}
	self := m.cl.SelfID()
	what := "the channel"
	if pipeline != 0 {
		what = fmt.Sprintf("pipeline %d", pipeline)
	}
	boot := evBoot{reason: fmt.Sprintf("node %s took %s (epoch %d)", self, what, lease.Epoch()), then: then}
	if prev, over := lease.Previous(); over {
		// The previous holder's lease expired: it crashed, was paused or
		// lost the database.
		boot.reason = fmt.Sprintf("node %s took %s over from node %s, whose lease expired (epoch %d)", self, what, prev, lease.Epoch())
	}
	boot.placed = fmt.Sprintf("placed on node %s (epoch %d)", self, lease.Epoch())
	if pipeline == 0 && rec.PipelineCount() > 1 {
		boot.siblings = m.siblingsDelivering(ctx, rec)
	}
	prev, _ := lease.Previous()
	m.logger.Info(fmt.Sprintf("this node took %s", cluster.PipelineName("channel "+rec.Name, pipeline)), "channel", rec.Name, "pipeline", pipeline, "epoch", lease.Epoch(), "previous", prev, "state", rec.State)
	rt = m.newRuntime(rec, lease)
	m.install(rt, boot)
	return rt, true, nil
}

// siblingsDelivering counts the pipelines of a STANDARD channel other
// than pipeline 0 that deliver segments, as their nodes last reported.
func (m *Manager) siblingsDelivering(ctx context.Context, rec store.ChannelRecord) int {
	leases, err := m.store.ListLeases(ctx)
	if err != nil {
		return 0
	}
	n := 0
	for _, r := range m.pipelineReports(rec, leases, m.liveNodes())[1:] {
		if r.State == resource.PipelineRunning {
			n++
		}
	}
	return n
}

// byID is the node's runtime of a channel, or nil.
func (m *Manager) byID(id string) *runtime {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.channels[id]
}

// followInputs applies what changed in the inputs and security groups to
// the live ingest, and restarts the channels this node runs on an input
// another node changed.
func (m *Manager) followInputs(ctx context.Context) error {
	ins, err := m.store.ListInputs(ctx)
	if err != nil {
		return err
	}
	groups, err := m.store.ListSecurityGroups(ctx)
	if err != nil {
		return err
	}
	var gv strings.Builder
	for _, g := range groups {
		fmt.Fprintf(&gv, "%s %s %s;", g.ID, g.Name, g.UpdatedAt.Format(time.RFC3339Nano))
	}
	m.followed.mu.Lock()
	prev, regroup := m.followed.inputs, gv.String() != m.followed.groups
	m.followed.groups = gv.String()
	seen := make(map[string]seenInput, len(ins))
	for _, in := range ins {
		seen[in.ID] = seenInput{name: in.Name, version: inputVersion(in)}
	}
	m.followed.inputs = seen
	m.followed.mu.Unlock()
	if prev == nil {
		return nil
	}
	for _, in := range ins {
		old, known := prev[in.ID]
		changed := !known || old.version != seen[in.ID].version
		if !changed && !regroup {
			continue
		}
		if known && old.name != in.Name && m.cfg.Live != nil {
			m.cfg.Live.Remove(old.name)
		}
		m.applyLive(ctx, in)
		if known && changed && !in.Type.IsLive() {
			for _, rt := range m.usersOf(in.Name) {
				rt.tell(envelope{cmd: cmdInputChanged{}, reply: make(chan error, 1)})
			}
		}
	}
	for id, old := range prev {
		if _, ok := seen[id]; !ok && m.cfg.Live != nil {
			m.cfg.Live.Remove(old.name)
		}
	}
	return nil
}

// inputVersion tells one version of an input from another.
func inputVersion(in resource.Input) string {
	return in.Name + " " + in.UpdatedAt.Format(time.RFC3339Nano) + " " + in.StreamKey
}

// sawInput records a change this node made to an input, so that the
// follower does not make it again.
func (m *Manager) sawInput(in resource.Input) {
	m.followed.mu.Lock()
	defer m.followed.mu.Unlock()
	if m.followed.inputs != nil {
		m.followed.inputs[in.ID] = seenInput{name: in.Name, version: inputVersion(in)}
	}
}

// report writes the live figures of the channel pipelines this node runs,
// each fenced by its own lease: a refused report means the pipeline is
// another node's now.
func (m *Manager) report(ctx context.Context) {
	rts := append(m.runtimes(), m.seconds()...)
	for _, rt := range rts {
		k := statusKey(rt.id, rt.index)
		st := rt.liveStatus()
		m.followed.mu.Lock()
		if m.followed.status == nil {
			m.followed.status = map[string]string{}
		}
		last, ok := m.followed.status[k]
		m.followed.mu.Unlock()
		if st == "" && (!ok || last == "") {
			continue
		}
		err := m.store.SetChannelStatus(ctx, rt.id, rt.fence(), st)
		switch {
		case errors.Is(err, store.ErrFenced):
			rt.tell(evFenced{})
			continue
		case err != nil:
			continue
		}
		m.followed.mu.Lock()
		m.followed.status[k] = st
		m.followed.mu.Unlock()
	}
	held := map[string]bool{}
	for _, rt := range rts {
		held[statusKey(rt.id, rt.index)] = true
	}
	m.followed.mu.Lock()
	for k := range m.followed.status {
		if !held[k] {
			delete(m.followed.status, k)
		}
	}
	m.followed.mu.Unlock()
}

// statusKey names a pipeline's last report.
func statusKey(id string, index int) string { return id + "/" + strconv.Itoa(index) }

// liveStatus is the runtime's report ("" while no pipeline runs, for a
// channel of one pipeline).
func (rt *runtime) liveStatus() string {
	standard := rt.standard()
	rt.mu.RLock()
	var st liveStatus
	if rt.index == 0 {
		st.Pipeline, st.Deliveries = rt.pipelineStatus(), rt.deliveryStatus()
	}
	rt.mu.RUnlock()
	if standard {
		r := rt.pipelineReport()
		st.Report = &r
	}
	if st.Pipeline == nil && len(st.Deliveries) == 0 && st.Report == nil {
		return ""
	}
	b, err := json.Marshal(st)
	if err != nil {
		return ""
	}
	return string(b)
}

// generation is the generation of the spec the runtime has.
func (rt *runtime) generation() uint64 {
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	return rt.rec.Generation
}

// tell hands the loop an event without waiting: when the loop is busy
// with many, the follower's next pass tells it again.
func (rt *runtime) tell(ev any) {
	select {
	case rt.in <- ev:
	default:
	}
}

// listShared is every channel of the database as this node of a cluster
// answers for it: its own runtimes' views, the others' rows with their
// holders' last reports.
func (m *Manager) listShared(ctx context.Context) ([]resource.Channel, error) {
	recs, err := m.store.ListChannels(ctx)
	if err != nil {
		return nil, err
	}
	leases, err := m.leasesByChannel(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]resource.Channel, 0, len(recs))
	for _, rec := range recs {
		out = append(out, m.sharedView(ctx, rec, leases))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// getShared is one channel of the database, as listShared answers it.
func (m *Manager) getShared(ctx context.Context, ref string) (resource.Channel, error) {
	rec, err := m.store.GetChannel(ctx, ref)
	if err != nil {
		return resource.Channel{}, err
	}
	leases, err := m.leasesByChannel(ctx)
	if err != nil {
		return resource.Channel{}, err
	}
	return m.sharedView(ctx, rec, leases), nil
}

// sharedView is a channel of the database as a node of a cluster answers
// for it: the row as the database has it (what any node wrote last: a
// command made through another node is there at once), and the live
// figures of this node's runtime when it holds the channel, else of the
// holder's last report.
func (m *Manager) sharedView(ctx context.Context, rec store.ChannelRecord, leases channelLeases) resource.Channel {
	lease := leases.of(rec.ID, 0)
	rt := m.byID(rec.ID)
	var ch resource.Channel
	if rt == nil || lease == nil || lease.Holder != m.cl.SelfID() {
		ch = remoteView(rec, lease)
	} else {
		ch = withEndpoints(rec)
		ch.Node = lease.Holder
		rt.mu.RLock()
		ch.Pipeline, ch.Deliveries = rt.pipelineStatus(), rt.deliveryStatus()
		rt.mu.RUnlock()
	}
	m.describePipelines(ctx, &ch, rec, leases[rec.ID])
	return ch
}

// channelLeases are the live leases of each channel's pipelines, by
// channel id.
type channelLeases map[string][]store.LeaseRecord

// of is the lease of a channel's pipeline, or nil.
func (c channelLeases) of(id string, pipeline int) *store.LeaseRecord {
	for i, l := range c[id] {
		if l.Pipeline == pipeline {
			return &c[id][i]
		}
	}
	return nil
}

func (m *Manager) leasesByChannel(ctx context.Context) (channelLeases, error) {
	leases, err := m.store.ListLeases(ctx)
	if err != nil {
		return nil, err
	}
	out := make(channelLeases, len(leases))
	for _, l := range leases {
		out[l.ChannelID] = append(out[l.ChannelID], l)
	}
	return out, nil
}

// remoteView is a channel another node holds (or none), with its holder's
// last report.
func remoteView(rec store.ChannelRecord, lease *store.LeaseRecord) resource.Channel {
	ch := withEndpoints(rec)
	if lease == nil {
		return ch
	}
	ch.Node = lease.Holder
	var st liveStatus
	if lease.Status != "" && json.Unmarshal([]byte(lease.Status), &st) == nil {
		ch.Pipeline, ch.Deliveries = st.Pipeline, st.Deliveries
	}
	return ch
}

// commandShared carries out a command for a channel that has no runtime on
// this node of a cluster, through the database. Held by another node, the
// command is written (the desired state, the spec) and that node, woken,
// carries it out. Held by none, a start is left to placement, and the
// other commands are carried out here: the node takes the channel for
// them. again is true when the channel moved meanwhile.
func (m *Manager) commandShared(ctx context.Context, ref string, cmd any) (ch resource.Channel, again bool, err error) {
	rec, err := m.store.GetChannel(ctx, ref)
	if err != nil {
		return resource.Channel{}, false, err
	}
	leases, err := m.leasesByChannel(ctx)
	if err != nil {
		return resource.Channel{}, false, err
	}
	// A lease of this node's id without a runtime here is one this node
	// is taking or letting go of, or one of this node's run before a
	// restart, which expires: the command waits in the database for the
	// next holder either way.
	held := leases.of(rec.ID, 0) != nil
	if rec.Desired == resource.StateDeleted || rec.State == resource.StateDeleting {
		if _, ok := cmd.(cmdDelete); ok {
			return remoteView(rec, leases.of(rec.ID, 0)), false, nil
		}
		return resource.Channel{}, false, resource.Conflict("channel %s is being deleted", rec.Name)
	}
	var then any
	switch c := cmd.(type) {
	case cmdStart:
		if rec.State == resource.StateCreateFailed {
			return resource.Channel{}, false, resource.Conflict("channel %s could not be created (%s); update it to try again", rec.Name, rec.LastError)
		}
		err = m.store.SetChannelDesired(ctx, rec.ID, resource.StateRunning)
	case cmdStop:
		err = m.store.SetChannelDesired(ctx, rec.ID, resource.StateIdle)
		if !held && rec.State == resource.StateFailed {
			then = cmd
		}
	case cmdRestart:
		switch {
		case held:
			// The holder follows the count and restarts the channel.
			_, err = m.store.RequestChannelRestart(ctx, rec.ID)
		case rec.State == resource.StateCreateFailed:
			return resource.Channel{}, false, resource.Conflict("channel %s could not be created (%s); update it to try again", rec.Name, rec.LastError)
		default:
			// Nobody runs it: a restart is a start, placed.
			err = m.store.SetChannelDesired(ctx, rec.ID, resource.StateRunning)
		}
	case cmdDelete:
		err = m.store.SetChannelDesired(ctx, rec.ID, resource.StateDeleted)
		if !held {
			then = cmd
		}
	case cmdUpdate:
		if held {
			_, err = m.store.UpdateChannelSpec(ctx, rec.ID, c.stack, c.spec, m.cfg.Now().UTC())
		} else {
			then = cmd
		}
	}
	if err != nil {
		return resource.Channel{}, false, err
	}
	if then != nil {
		return m.claim(ctx, rec, then)
	}
	ch, err = m.getShared(ctx, rec.ID)
	return ch, false, err
}

// claim takes a channel no node holds to carry out a command here.
func (m *Manager) claim(ctx context.Context, rec store.ChannelRecord, cmd any) (resource.Channel, bool, error) {
	env := &envelope{cmd: cmd, reply: make(chan error, 1)}
	rt, fresh, err := m.take(ctx, rec.ID, rec.Name, 0, env)
	switch {
	case errors.Is(err, cluster.ErrHeld):
		return resource.Channel{}, true, nil
	case err != nil:
		return resource.Channel{}, false, err
	case !fresh:
		return resource.Channel{}, true, nil
	}
	select {
	case err = <-env.reply:
	case <-ctx.Done():
		return resource.Channel{}, false, ctx.Err()
	}
	var ended endedError
	if _, deleting := cmd.(cmdDelete); deleting && errors.As(err, &ended) {
		err = nil
	}
	if err != nil {
		return resource.Channel{}, false, err
	}
	return rt.view(), false, nil
}
