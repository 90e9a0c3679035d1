package event

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/outbound"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// receiver is a webhook endpoint on loopback that records what it gets and
// answers with the statuses it is given, in turn (200 once they run out).
type receiver struct {
	srv *httptest.Server

	mu       sync.Mutex
	statuses []int
	got      []received
}

type received struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	r := &receiver{statuses: statuses}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{req.Header.Clone(), body})
		status := http.StatusOK
		if len(r.statuses) > 0 {
			status, r.statuses = r.statuses[0], r.statuses[1:]
		}
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) received() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// checkSignature verifies a Sluice-Signature the way a receiver written
// from the documentation would.
func checkSignature(t *testing.T, secret string, got received) {
	t.Helper()
	sig := got.header.Get("Sluice-Signature")
	var ts, v1 string
	for _, part := range strings.Split(sig, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			v1 = v
		}
	}
	if _, err := strconv.ParseInt(ts, 10, 64); err != nil {
		t.Fatalf("signature %q has no time", sig)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + string(got.body)))
	want := hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(v1), []byte(want)) {
		t.Fatalf("signature %q does not match the body (want v1=%s)", sig, want)
	}
}

func testDeliverer(t *testing.T, cfg WebhookConfig) *Deliverer {
	if cfg.Backoff == 0 {
		cfg.Backoff = time.Millisecond
	}
	d := NewDeliverer(cfg)
	t.Cleanup(func() { _ = d.Close(context.Background()) })
	return d
}

func TestWebhookSignedPayload(t *testing.T) {
	r := newReceiver(t)
	d := testDeliverer(t, WebhookConfig{})
	e := resource.Event{Seq: 7, At: t0, Type: resource.EventChannelCreated, Resource: "channel/news", Detail: map[string]string{"channel": "news"}, Message: "Channel news created"}
	if !d.Enqueue(Webhook{URL: r.srv.URL, Secret: "s3cret"}, e) {
		t.Fatal("enqueue refused")
	}
	poll.UntilTrue(t, "the delivery", 20*time.Second, func() bool { return len(r.received()) == 1 })
	got := r.received()[0]
	checkSignature(t, "s3cret", got)
	var body resource.Event
	if err := json.Unmarshal(got.body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Seq != 7 || body.Type != resource.EventChannelCreated || body.Detail["channel"] != "news" || !body.At.Equal(t0) {
		t.Fatalf("body %s", got.body)
	}
	if got.header.Get("Content-Type") != "application/json" || got.header.Get("Sluice-Event") != resource.EventChannelCreated ||
		got.header.Get("Sluice-Delivery") == "" || got.header.Get("Sluice-Attempt") != "1" {
		t.Fatalf("headers %v", got.header)
	}
	// Verify agrees, and notices tampering.
	sig := got.header.Get(SignatureHeader)
	if err := Verify("s3cret", sig, got.body, time.Now(), 5*time.Minute); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if err := Verify("s3cret", sig, append(got.body, ' '), time.Now(), 0); !errors.Is(err, ErrSignatureInvalid) {
		t.Fatalf("tampered body: %v", err)
	}
	if err := Verify("other", sig, got.body, time.Now(), 0); !errors.Is(err, ErrSignatureInvalid) {
		t.Fatalf("wrong secret: %v", err)
	}
	if err := Verify("s3cret", sig, got.body, time.Now().Add(time.Hour), 5*time.Minute); !errors.Is(err, ErrSignatureExpired) {
		t.Fatalf("old signature: %v", err)
	}
	if err := Verify("s3cret", "garbage", got.body, time.Now(), 0); !errors.Is(err, ErrSignatureMissing) {
		t.Fatalf("garbage: %v", err)
	}
	// Without a secret there is no signature.
	d.Enqueue(Webhook{URL: r.srv.URL}, e)
	poll.UntilTrue(t, "the unsigned delivery", 20*time.Second, func() bool { return len(r.received()) == 2 })
	if h := r.received()[1].header.Get(SignatureHeader); h != "" {
		t.Fatalf("unsigned delivery carries %q", h)
	}
}

func TestWebhookRetriesServerErrors(t *testing.T) {
	r := newReceiver(t, 500, 503)
	d := testDeliverer(t, WebhookConfig{})
	d.Enqueue(Webhook{URL: r.srv.URL, Secret: "k"}, ev("a.b", 1))
	poll.UntilTrue(t, "three attempts", 20*time.Second, func() bool { return len(d.Log(r.srv.URL, 0)) == 3 })
	got := r.received()
	if len(got) != 3 {
		t.Fatalf("%d requests", len(got))
	}
	for i, g := range got {
		checkSignature(t, "k", g) // every attempt is signed afresh
		if g.header.Get("Sluice-Attempt") != strconv.Itoa(i+1) || g.header.Get("Sluice-Delivery") != got[0].header.Get("Sluice-Delivery") {
			t.Fatalf("attempt %d headers %v", i+1, g.header)
		}
	}
	log := d.Log(r.srv.URL, 0)
	want := []struct {
		status  int
		outcome string
	}{{200, OutcomeDelivered}, {503, OutcomeRetrying}, {500, OutcomeRetrying}}
	for i, w := range want {
		if log[i].Status != w.status || log[i].Outcome != w.outcome || log[i].Attempt != 3-i {
			t.Fatalf("log[%d] = %+v, want %+v", i, log[i], w)
		}
	}
	st := d.Webhooks()
	if len(st) != 1 || st[0].Delivered != 1 || st[0].Failed != 0 || st[0].Last.Outcome != OutcomeDelivered {
		t.Fatalf("status %+v", st)
	}
}

func TestWebhookDoesNotRetryClientErrors(t *testing.T) {
	r := newReceiver(t, 400)
	d := testDeliverer(t, WebhookConfig{})
	d.Enqueue(Webhook{URL: r.srv.URL}, ev("a.b", 1))
	d.Enqueue(Webhook{URL: r.srv.URL}, ev("a.b", 2)) // the queue goes on
	poll.UntilTrue(t, "both deliveries", 20*time.Second, func() bool { return len(d.Log(r.srv.URL, 0)) == 2 })
	log := d.Log(r.srv.URL, 0)
	if log[1].Status != 400 || log[1].Outcome != OutcomeRejected || log[0].Outcome != OutcomeDelivered {
		t.Fatalf("log %+v", log)
	}
	if n := len(r.received()); n != 2 {
		t.Fatalf("%d requests: a 400 was retried", n)
	}
}

func TestWebhookGivesUpAfterMaxAttempts(t *testing.T) {
	r := newReceiver(t, 503, 503, 503, 503)
	d := testDeliverer(t, WebhookConfig{MaxAttempts: 3})
	d.Enqueue(Webhook{URL: r.srv.URL}, ev("a.b", 1))
	poll.UntilTrue(t, "three attempts", 20*time.Second, func() bool { return len(d.Log(r.srv.URL, 0)) == 3 })
	if log := d.Log(r.srv.URL, 1); log[0].Outcome != OutcomeFailed || log[0].Attempt != 3 {
		t.Fatalf("last attempt %+v", log[0])
	}
	if st := d.Webhooks(); st[0].Failed != 1 {
		t.Fatalf("status %+v", st)
	}
}

func TestWebhookRetriesNetworkErrors(t *testing.T) {
	gone := httptest.NewServer(http.NotFoundHandler())
	url := gone.URL
	gone.Close() // nothing listens there any more
	d := testDeliverer(t, WebhookConfig{MaxAttempts: 3})
	d.Enqueue(Webhook{URL: url}, ev("a.b", 1))
	poll.UntilTrue(t, "three attempts", 20*time.Second, func() bool { return len(d.Log(url, 0)) == 3 })
	for _, a := range d.Log(url, 0) {
		if a.Status != 0 || a.Error == "" {
			t.Fatalf("attempt %+v", a)
		}
	}
}

// TestSlowReceiverBlocksNobody: a receiver that does not answer holds up
// neither Enqueue nor the deliveries to another receiver; its own queue
// fills and further deliveries to it are dropped and counted.
func TestSlowReceiverBlocksNobody(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { once.Do(func() { close(release) }) }) // runs before slow.Close
	fast := newReceiver(t)
	d := testDeliverer(t, WebhookConfig{QueueSize: 2})

	accepted := 0
	for i := range 10 {
		if d.Enqueue(Webhook{URL: slow.URL}, ev("a.b", i)) {
			accepted++
		}
	}
	// One in flight at most, two queued.
	if accepted > 3 || d.Dropped() < 7 {
		t.Fatalf("accepted %d, dropped %d", accepted, d.Dropped())
	}
	for i := range 20 {
		if !d.Enqueue(Webhook{URL: fast.srv.URL}, ev("a.b", i)) {
			poll.UntilTrue(t, "room in the fast queue", 20*time.Second, func() bool { return d.Enqueue(Webhook{URL: fast.srv.URL}, ev("a.b", i)) })
		}
	}
	poll.UntilTrue(t, "every fast delivery", 20*time.Second, func() bool { return len(fast.received()) == 20 })
	st := d.Webhooks()
	for _, s := range st {
		if s.URL == slow.URL && (s.Dropped < 7 || s.Delivered != 0) {
			t.Fatalf("slow receiver %+v", s)
		}
	}
	once.Do(func() { close(release) })
	poll.UntilTrue(t, "the slow receiver's queue", 20*time.Second, func() bool {
		for _, s := range d.Webhooks() {
			if s.URL == slow.URL {
				return s.Delivered == uint64(accepted)
			}
		}
		return false
	})
}

func TestWebhookAttemptTimeout(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) })
	d := testDeliverer(t, WebhookConfig{AttemptTimeout: 20 * time.Millisecond, MaxAttempts: 2})
	d.Enqueue(Webhook{URL: slow.URL}, ev("a.b", 1))
	poll.UntilTrue(t, "two timed-out attempts", 20*time.Second, func() bool { return len(d.Log(slow.URL, 0)) == 2 })
	log := d.Log(slow.URL, 0)
	if log[0].Outcome != OutcomeFailed || log[1].Outcome != OutcomeRetrying || log[0].Error == "" {
		t.Fatalf("log %+v", log)
	}
}

func TestWebhookLogIsBounded(t *testing.T) {
	r := newReceiver(t)
	d := testDeliverer(t, WebhookConfig{LogSize: 3})
	for i := range 5 {
		e := ev("a.b", i)
		e.Seq = uint64(i + 1)
		d.Enqueue(Webhook{URL: r.srv.URL}, e)
	}
	poll.UntilTrue(t, "five deliveries logged", 20*time.Second, func() bool {
		l := d.Log(r.srv.URL, 0)
		return len(l) == 3 && l[0].EventSeq == 5
	})
	log := d.Log(r.srv.URL, 0)
	for i, a := range log {
		if a.EventSeq != uint64(5-i) || a.Outcome != OutcomeDelivered {
			t.Fatalf("log[%d] = %+v", i, a)
		}
	}
	if got := d.Log(r.srv.URL, 2); len(got) != 2 || got[0] != log[0] || got[1] != log[1] {
		t.Fatalf("limited log %+v", got)
	}
	if got := d.Log("http://unknown.example/", 0); len(got) != 0 {
		t.Fatalf("unknown webhook log %+v", got)
	}
}

func TestEnqueueAfterClose(t *testing.T) {
	d := NewDeliverer(WebhookConfig{})
	d.Close(context.Background())
	if d.Enqueue(Webhook{URL: "http://127.0.0.1:1/"}, ev("a.b", 1)) {
		t.Fatal("a closed deliverer accepted a delivery")
	}
}

// TestWebhookOutboundPolicy: a receiver at a denied address gets nothing,
// and the delivery log says which address and rule refused it, once (a
// refusal is not retried); an allowed receiver gets the delivery.
func TestWebhookOutboundPolicy(t *testing.T) {
	r := newReceiver(t)
	public, err := outbound.New(outbound.Config{}) // a server beyond loopback: loopback is denied
	if err != nil {
		t.Fatal(err)
	}
	d := testDeliverer(t, WebhookConfig{Policy: public, MaxAttempts: 3})
	metadata := "http://169.254.169.254/latest/meta-data/"
	d.Enqueue(Webhook{URL: r.srv.URL}, ev("a.b", 1))
	d.Enqueue(Webhook{URL: metadata}, ev("a.b", 1))
	poll.UntilTrue(t, "both refusals", 20*time.Second, func() bool { return len(d.Log(r.srv.URL, 0)) == 1 && len(d.Log(metadata, 0)) == 1 })
	addr := r.srv.Listener.Addr().String()
	for url, want := range map[string][]string{
		r.srv.URL: {addr, "127.0.0.0/8 (loopback)", "outbound policy"},
		metadata:  {"169.254.169.254:80", "169.254.0.0/16 (link-local)", "outbound policy"},
	} {
		a := d.Log(url, 0)[0]
		if a.Outcome != OutcomeRejected || a.Status != 0 {
			t.Errorf("%s: attempt %+v, want one rejected attempt", url, a)
		}
		for _, w := range want {
			if !strings.Contains(a.Error, w) {
				t.Errorf("%s: error %q does not say %q", url, a.Error, w)
			}
		}
	}
	if n := len(r.received()); n != 0 {
		t.Fatalf("the denied receiver got %d requests", n)
	}

	local, _ := outbound.New(outbound.Config{LoopbackOnly: true})
	ok := testDeliverer(t, WebhookConfig{Policy: local})
	ok.Enqueue(Webhook{URL: r.srv.URL}, ev("a.b", 2))
	// The receiver answers before the deliverer records the attempt: wait
	// for the record, not for the request.
	poll.UntilTrue(t, "the allowed delivery to be recorded", 20*time.Second, func() bool { return len(ok.Log(r.srv.URL, 0)) == 1 })
	if n := len(r.received()); n != 1 {
		t.Fatalf("the allowed receiver got %d requests, want 1", n)
	}
	if log := ok.Log(r.srv.URL, 0); len(log) != 1 || log[0].Outcome != OutcomeDelivered {
		t.Fatalf("log %+v", log)
	}
}
