package event

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// receive reads n events from ch, failing after a generous deadline.
func receive(t *testing.T, ch <-chan resource.Event, n int) []resource.Event {
	t.Helper()
	var out []resource.Event
	timeout := time.After(20 * time.Second)
	for len(out) < n {
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatalf("channel closed after %d of %d events", len(out), n)
			}
			out = append(out, e)
		case <-timeout:
			t.Fatalf("received %d of %d events", len(out), n)
		}
	}
	return out
}

func ev(typ string, i int) resource.Event {
	return resource.Event{Type: typ, Resource: "channel/news", Detail: map[string]string{"i": strconv.Itoa(i)}, Message: fmt.Sprint("event ", i)}
}

func TestPublishAssignsSeqAndTime(t *testing.T) {
	b := NewBus(BusConfig{Now: func() time.Time { return t0 }})
	detail := map[string]string{"channel": "news"}
	e := b.Publish(resource.Event{Type: resource.EventChannelCreated, Detail: detail})
	detail["channel"] = "changed"
	if e.Seq != 1 || !e.At.Equal(t0) || b.Last() != 1 {
		t.Fatalf("published %+v, last %d", e, b.Last())
	}
	if got := b.History(0, 0, ""); len(got) != 1 || got[0].Detail["channel"] != "news" {
		t.Fatalf("history %+v: the bus must keep its own copy of the detail", got)
	}
	at := t0.Add(-time.Hour)
	if e := b.Publish(resource.Event{Type: "x.y", At: at}); e.Seq != 2 || !e.At.Equal(at) {
		t.Fatalf("an event's own time is kept: %+v", e)
	}
	b2 := NewBus(BusConfig{FirstSeq: 1000})
	if e := b2.Publish(resource.Event{Type: "x.y"}); e.Seq != 1000 || b2.Last() != 1000 {
		t.Fatalf("FirstSeq: %+v", e)
	}
}

func TestHistoryPagesAndFilters(t *testing.T) {
	b := NewBus(BusConfig{History: 100})
	for i := range 250 {
		typ := resource.EventChannelStateChanged
		if i%5 == 0 {
			typ = resource.EventInputLost
		}
		b.Publish(ev(typ, i))
	}
	all := b.History(0, 1000, "")
	if len(all) != 100 || all[0].Seq != 151 || all[99].Seq != 250 {
		t.Fatalf("history holds %d events from %d", len(all), all[0].Seq)
	}
	page := b.History(200, 10, "")
	if len(page) != 10 || page[0].Seq != 201 || page[9].Seq != 210 {
		t.Fatalf("page %d..", page[0].Seq)
	}
	lost := b.History(0, 1000, resource.EventInputLost)
	if len(lost) != 20 {
		t.Fatalf("%d input.lost events", len(lost))
	}
	for _, e := range lost {
		if e.Type != resource.EventInputLost {
			t.Fatalf("filter let %s through", e.Type)
		}
	}
	if n := len(b.History(0, 1000, "input.*")); n != 20 {
		t.Fatalf("prefix filter: %d", n)
	}
	if n := len(b.History(250, 10, "")); n != 0 {
		t.Fatalf("after the newest: %d", n)
	}
}

func TestSubscribeReplaysThenFollows(t *testing.T) {
	b := NewBus(BusConfig{})
	for i := range 5 {
		b.Publish(ev("a.b", i))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, _ := b.Subscribe(ctx, 2)
	for i := 5; i < 10; i++ {
		b.Publish(ev("a.b", i))
	}
	got := receive(t, ch, 7)
	for i, e := range got {
		if e.Seq != uint64(i+3) {
			t.Fatalf("event %d has Seq %d", i, e.Seq)
		}
	}
	// A cursor from an earlier run (beyond the newest event) replays all.
	ch2, _ := b.Subscribe(ctx, 1_000_000)
	if got := receive(t, ch2, 10); got[0].Seq != 1 {
		t.Fatalf("replay from %d", got[0].Seq)
	}
	// Last() subscribes to new events only.
	ch3, _ := b.Subscribe(ctx, b.Last())
	b.Publish(ev("a.b", 10))
	if got := receive(t, ch3, 1); got[0].Seq != 11 {
		t.Fatalf("new events only: %d", got[0].Seq)
	}
}

func TestSlowSubscriberNeverBlocksPublish(t *testing.T) {
	b := NewBus(BusConfig{History: 100, Buffer: 4})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	slow, sub := b.Subscribe(ctx, 0) // never read until the end
	fast, _ := b.Subscribe(ctx, 0)   // read as they come
	done := make(chan struct{})
	var fastGot []resource.Event
	go func() {
		defer close(done)
		for e := range fast {
			fastGot = append(fastGot, e)
			if e.Seq == 10000 {
				return
			}
		}
	}()
	for i := range 10000 {
		b.Publish(ev("a.b", i)) // returns although one subscriber reads nothing
	}
	<-done
	if len(fastGot) == 0 || fastGot[len(fastGot)-1].Seq != 10000 {
		t.Fatal("the reading subscriber did not get the newest event")
	}
	// The slow one lost what fell out of the history, counted, and reads
	// the rest in order.
	var got []resource.Event
	for e := range slow {
		got = append(got, e)
		if e.Seq == 10000 {
			break
		}
	}
	for i := 1; i < len(got); i++ {
		if got[i].Seq <= got[i-1].Seq {
			t.Fatalf("out of order: %d after %d", got[i].Seq, got[i-1].Seq)
		}
	}
	if len(got) > 100+4+1 {
		t.Fatalf("slow subscriber read %d events, more than the history and its buffer", len(got))
	}
	if d := sub.Dropped(); d+uint64(len(got)) != 10000 {
		t.Fatalf("dropped %d + read %d != 10000", d, len(got))
	}
}

func TestSubscriptionsEnd(t *testing.T) {
	b := NewBus(BusConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	ch1, _ := b.Subscribe(ctx, 0)
	ch2, sub2 := b.Subscribe(context.Background(), 0)
	ch3, _ := b.Subscribe(context.Background(), 0)
	cancel()
	sub2.Close()
	for _, ch := range []<-chan resource.Event{ch1, ch2} {
		select {
		case _, ok := <-ch:
			if ok {
				t.Fatal("event on an ended subscription")
			}
		case <-time.After(20 * time.Second):
			t.Fatal("subscription channel not closed")
		}
	}
	poll.UntilTrue(t, "one subscriber left", 20*time.Second, func() bool { return b.Subscribers() == 1 })
	b.Close(context.Background())
	if _, ok := <-ch3; ok {
		t.Fatal("event after Close")
	}
	poll.UntilTrue(t, "no subscriber left", 20*time.Second, func() bool { return b.Subscribers() == 0 })
	ch4, _ := b.Subscribe(context.Background(), 0)
	if _, ok := <-ch4; ok {
		t.Fatal("subscription to a closed bus")
	}
	b.Publish(ev("a.b", 1)) // still fine
}

func TestTypeMatches(t *testing.T) {
	for _, tt := range []struct {
		pattern, typ string
		want         bool
	}{
		{"", "channel.created", true},
		{"channel.created", "channel.created", true},
		{"channel.created", "channel.deleted", false},
		{"channel.*", "channel.deleted", true},
		{"channel.*", "channels.x", false},
		{"channel.*", "input.lost", false},
	} {
		if got := TypeMatches(tt.pattern, tt.typ); got != tt.want {
			t.Errorf("TypeMatches(%q, %q) = %v", tt.pattern, tt.typ, got)
		}
	}
}
