package channel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/cluster"
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
	// failing is set while reading the database fails, so that it is
	// logged once.
	failing bool
}

type seenInput struct{ name, version string }

// liveStatus is what a holder reports of a channel it runs.
type liveStatus struct {
	Pipeline   *resource.PipelineStatus  `json:"pipeline,omitempty"`
	Deliveries []resource.DeliveryStatus `json:"deliveries,omitempty"`
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
		if rt := m.byID(h.ID); rt != nil {
			if h.Holder != self {
				// The lease's loss is the cluster's to tell the runtime.
				continue
			}
			var rec *store.ChannelRecord
			if h.Generation > rt.generation() {
				if r, err := m.store.GetChannel(ctx, h.ID); err == nil {
					rec = &r
				}
			}
			rt.tell(evFollow{hold: h, rec: rec, readAt: readAt})
			continue
		}
		if needsHolder(h) {
			cands = append(cands, cluster.Candidate{ChannelID: h.ID, Channel: h.Name})
		}
	}
	take, err := m.cl.Place(ctx, cands)
	if m.followFailed(err) {
		return
	}
	for _, cd := range take {
		if _, _, err := m.take(ctx, cd.ChannelID, cd.Channel, nil); err != nil && !errors.Is(err, cluster.ErrHeld) && !errors.Is(err, resource.ErrNotFound) {
			m.logger.Warn(fmt.Sprintf("taking channel %s failed", cd.Channel), "error", err)
		}
	}
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
}

// followFailed logs a failed reading of the database once until one
// works; true when err is not nil.
func (m *Manager) followFailed(err error) bool {
	m.followed.mu.Lock()
	defer m.followed.mu.Unlock()
	if err == nil {
		if m.followed.failing {
			m.logger.Info("reading the channels from the state database works again")
		}
		m.followed.failing = false
		return false
	}
	if !m.followed.failing {
		m.logger.Warn("reading the channels from the state database failed; this node follows them again when it answers", "error", err)
	}
	m.followed.failing = true
	return true
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

// take makes this node the channel's holder: it acquires the lease, reads
// the channel as the lease makes it this node's, and runs its runtime from
// a boot, then carries out then (a command) before the channel may be let
// go. A channel whose runtime is on the node already is answered with it
// (fresh false).
func (m *Manager) take(ctx context.Context, id, name string, then *envelope) (rt *runtime, fresh bool, err error) {
	m.adopt.Lock()
	defer m.adopt.Unlock()
	if rt := m.byID(id); rt != nil {
		return rt, false, nil
	}
	lease, err := m.cl.Acquire(ctx, id, name)
	if err != nil {
		return nil, false, err
	}
	rec, err := m.store.GetChannel(ctx, id)
	if err != nil {
		_ = m.cl.Release(ctx, lease)
		return nil, false, err
	}
	self := m.cl.SelfID()
	boot := evBoot{reason: fmt.Sprintf("node %s took the channel (epoch %d)", self, lease.Epoch()), then: then}
	if prev, over := lease.Previous(); over {
		// The previous holder's lease expired: it crashed, was paused or
		// lost the database.
		boot.reason = fmt.Sprintf("node %s took the channel over from node %s, whose lease expired (epoch %d)", self, prev, lease.Epoch())
	}
	boot.placed = fmt.Sprintf("placed on node %s (epoch %d)", self, lease.Epoch())
	prev, _ := lease.Previous()
	m.logger.Info(fmt.Sprintf("this node took channel %s", rec.Name), "channel", rec.Name, "epoch", lease.Epoch(), "previous", prev, "state", rec.State)
	rt = m.newRuntime(rec, lease)
	m.install(rt, boot)
	return rt, true, nil
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

// report writes the live figures of the channels this node runs, fenced:
// a refused report means the channel is another node's now.
func (m *Manager) report(ctx context.Context) {
	for _, rt := range m.runtimes() {
		st := rt.liveStatus()
		m.followed.mu.Lock()
		if m.followed.status == nil {
			m.followed.status = map[string]string{}
		}
		last, ok := m.followed.status[rt.id]
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
		m.followed.status[rt.id] = st
		m.followed.mu.Unlock()
	}
	m.followed.mu.Lock()
	for id := range m.followed.status {
		if m.byID(id) == nil {
			delete(m.followed.status, id)
		}
	}
	m.followed.mu.Unlock()
}

// liveStatus is the runtime's report ("" while no pipeline runs).
func (rt *runtime) liveStatus() string {
	rt.mu.RLock()
	st := liveStatus{Pipeline: rt.pipelineStatus(), Deliveries: rt.deliveryStatus()}
	rt.mu.RUnlock()
	if st.Pipeline == nil && len(st.Deliveries) == 0 {
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
		out = append(out, m.sharedView(rec, leases[rec.ID]))
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
	return m.sharedView(rec, leases[rec.ID]), nil
}

// sharedView is a channel of the database as a node of a cluster answers
// for it: the row as the database has it (what any node wrote last: a
// command made through another node is there at once), and the live
// figures of this node's runtime when it holds the channel, else of the
// holder's last report.
func (m *Manager) sharedView(rec store.ChannelRecord, lease *store.LeaseRecord) resource.Channel {
	rt := m.byID(rec.ID)
	if rt == nil || lease == nil || lease.Holder != m.cl.SelfID() {
		return remoteView(rec, lease)
	}
	ch := withEndpoints(rec)
	ch.Node = lease.Holder
	rt.mu.RLock()
	ch.Pipeline, ch.Deliveries = rt.pipelineStatus(), rt.deliveryStatus()
	rt.mu.RUnlock()
	return ch
}

func (m *Manager) leasesByChannel(ctx context.Context) (map[string]*store.LeaseRecord, error) {
	leases, err := m.store.ListLeases(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*store.LeaseRecord, len(leases))
	for i := range leases {
		out[leases[i].ChannelID] = &leases[i]
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
	held := leases[rec.ID] != nil
	if rec.Desired == resource.StateDeleted || rec.State == resource.StateDeleting {
		if _, ok := cmd.(cmdDelete); ok {
			return remoteView(rec, leases[rec.ID]), false, nil
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
	rt, fresh, err := m.take(ctx, rec.ID, rec.Name, env)
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
