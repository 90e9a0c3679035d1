package event

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/outbound"
	"github.com/sluice-video/sluice/internal/resource"
)

// WebhookMetrics counts webhook attempts; *metrics.Metrics implements it.
type WebhookMetrics interface {
	WebhookAttempt(result string, dur time.Duration)
	WebhookDropped()
}

// WebhookConfig configures a Deliverer.
type WebhookConfig struct {
	// Client sends the requests (default: no redirects, 10 s timeout,
	// connections checked against Policy).
	Client *http.Client
	// Policy says which addresses receivers may be at; a refused
	// connection is a rejected delivery whose error names the address and
	// the rule. Nil allows every address.
	Policy *outbound.Policy
	// AttemptTimeout bounds one attempt, the body read included (default 10 s).
	AttemptTimeout time.Duration
	// MaxAttempts is how often a delivery is tried (default 5).
	MaxAttempts int
	// Backoff is the wait after the first failed attempt; it doubles after
	// each one up to MaxBackoff (defaults 1 s and 1 min). A Retry-After
	// from the receiver is honoured up to MaxBackoff.
	Backoff    time.Duration
	MaxBackoff time.Duration
	// QueueSize bounds each receiver's queue (default 100); deliveries
	// beyond it are dropped and counted.
	QueueSize int
	// LogSize is how many attempts the log keeps per webhook (default 50).
	LogSize int
	// MaxWebhooks bounds the receivers tracked at once (default 1000).
	MaxWebhooks int
	// IdleTimeout is how long a receiver's worker waits for work before it
	// ends (default 1 min).
	IdleTimeout time.Duration
	UserAgent   string
	Now         func() time.Time
	Metrics     WebhookMetrics // optional
	Logger      *slog.Logger
}

// Webhook is where a delivery goes.
type Webhook struct {
	URL string
	// Secret, when set, signs the body (SignatureHeader).
	Secret string
}

// Attempt is one try of a delivery, as the delivery log keeps it.
type Attempt struct {
	DeliveryID string    `json:"deliveryId"`
	EventSeq   uint64    `json:"eventSeq"`
	EventType  string    `json:"eventType"`
	Attempt    int       `json:"attempt"`
	At         time.Time `json:"at"`
	// Status is the receiver's HTTP status, 0 when none came back.
	Status int    `json:"status,omitempty"`
	Error  string `json:"error,omitempty"`
	// Seconds is how long the attempt took.
	Seconds float64 `json:"seconds"`
	// Outcome is delivered, retrying, failed (retries exhausted) or
	// rejected (a client error, not retried).
	Outcome string `json:"outcome"`
}

// Attempt outcomes.
const (
	OutcomeDelivered = "delivered"
	OutcomeRetrying  = "retrying"
	OutcomeFailed    = "failed"
	OutcomeRejected  = "rejected"
)

// WebhookStatus sums up one receiver.
type WebhookStatus struct {
	// URL is the receiver's address, a secret as in the action that
	// named it (resource.Action).
	URL       string `json:"url" secret:"url"`
	Queued    int    `json:"queued"`
	Delivered uint64 `json:"delivered"`
	Failed    uint64 `json:"failed"`
	Dropped   uint64 `json:"dropped"`
	// Last is the latest attempt, if any.
	Last *Attempt `json:"last,omitempty"`
}

// Deliverer posts events to webhooks. Every receiver has its own bounded
// queue and worker, so a slow or failing receiver delays only its own
// deliveries; Enqueue never blocks.
type Deliverer struct {
	cfg    WebhookConfig
	client *http.Client
	logger *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	targets map[string]*target
	dropped uint64
	closed  bool
}

// target is one receiver: its queue, worker and log.
type target struct {
	url       string
	queue     chan delivery
	running   bool
	log       []Attempt // ring of the last LogSize attempts
	logNext   int
	delivered uint64
	failed    uint64
	dropped   uint64
}

type delivery struct {
	id     string
	secret string
	event  resource.Event
	body   []byte
}

// NewDeliverer returns a Deliverer; Close stops it.
func NewDeliverer(cfg WebhookConfig) *Deliverer {
	if cfg.AttemptTimeout <= 0 {
		cfg.AttemptTimeout = 10 * time.Second
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = time.Second
	}
	if cfg.MaxBackoff < cfg.Backoff {
		cfg.MaxBackoff = max(time.Minute, cfg.Backoff)
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 100
	}
	if cfg.LogSize <= 0 {
		cfg.LogSize = 50
	}
	if cfg.MaxWebhooks <= 0 {
		cfg.MaxWebhooks = 1000
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = time.Minute
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "Sluice-Webhook/1"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	client := cfg.Client
	if client == nil {
		client = &http.Client{
			Transport: cfg.Policy.Transport(cfg.AttemptTimeout),
			Timeout:   cfg.AttemptTimeout,
			// A webhook URL is exact: a redirect is the receiver's error.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Deliverer{cfg: cfg, client: client, logger: cfg.Logger, ctx: ctx, cancel: cancel, targets: map[string]*target{}}
}

// Enqueue queues the event for the webhook and returns at once; false
// means the delivery was dropped (the receiver's queue is full, too many
// receivers, or the Deliverer is closed).
func (d *Deliverer) Enqueue(w Webhook, e resource.Event) bool {
	body, err := json.Marshal(e)
	if err != nil {
		d.logger.Error("encoding webhook body", "event", e.Seq, "error", err)
		return false
	}
	j := delivery{id: newDeliveryID(), secret: w.Secret, event: e, body: body}
	d.mu.Lock()
	t := d.targets[w.URL]
	if t == nil && !d.closed && len(d.targets) < d.cfg.MaxWebhooks {
		t = &target{url: w.URL, queue: make(chan delivery, d.cfg.QueueSize), log: make([]Attempt, 0, d.cfg.LogSize)}
		d.targets[w.URL] = t
	}
	if t == nil || d.closed {
		d.dropped++
		d.mu.Unlock()
		d.countDrop(w.URL, "no room for another webhook or closed")
		return false
	}
	select {
	case t.queue <- j:
	default:
		t.dropped++
		d.dropped++
		d.mu.Unlock()
		d.countDrop(w.URL, "queue full")
		return false
	}
	if !t.running {
		t.running = true
		d.wg.Add(1)
		go d.work(t)
	}
	d.mu.Unlock()
	return true
}

func (d *Deliverer) countDrop(url, why string) {
	d.logger.Warn("webhook delivery dropped", "url", url, "reason", why)
	if d.cfg.Metrics != nil {
		d.cfg.Metrics.WebhookDropped()
	}
}

func newDeliveryID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// work delivers a receiver's queue in order until it has been idle for
// IdleTimeout or the Deliverer closes.
func (d *Deliverer) work(t *target) {
	defer d.wg.Done()
	idle := time.NewTimer(d.cfg.IdleTimeout)
	defer idle.Stop()
	for {
		select {
		case j := <-t.queue:
			d.deliver(t, j)
			idle.Reset(d.cfg.IdleTimeout)
		case <-idle.C:
			d.mu.Lock()
			if len(t.queue) == 0 {
				t.running = false
				d.mu.Unlock()
				return
			}
			d.mu.Unlock()
			idle.Reset(d.cfg.IdleTimeout)
		case <-d.ctx.Done():
			return
		}
	}
}

// deliver tries one delivery until it succeeds, is rejected, or runs out
// of attempts, waiting between attempts.
func (d *Deliverer) deliver(t *target, j delivery) {
	wait := d.cfg.Backoff
	for n := 1; ; n++ {
		a, retry, after := d.attempt(t.url, j, n)
		last := n >= d.cfg.MaxAttempts
		switch {
		case a.Outcome == OutcomeDelivered:
		case !retry:
			a.Outcome = OutcomeRejected
		case last:
			a.Outcome = OutcomeFailed
		default:
			a.Outcome = OutcomeRetrying
		}
		d.record(t, a)
		if a.Outcome != OutcomeRetrying {
			if a.Outcome != OutcomeDelivered {
				d.logger.Warn("webhook delivery failed", "url", t.url, "event", j.event.Seq, "attempts", n, "status", a.Status, "error", a.Error)
			}
			return
		}
		pause := wait
		if after > 0 {
			pause = min(after, d.cfg.MaxBackoff)
		}
		timer := time.NewTimer(pause)
		select {
		case <-timer.C:
		case <-d.ctx.Done():
			timer.Stop()
			return
		}
		wait = min(2*wait, d.cfg.MaxBackoff)
	}
}

// attempt posts once. retry says whether a failure is worth another try
// (network errors, 5xx and 429); after is the receiver's Retry-After.
func (d *Deliverer) attempt(url string, j delivery, n int) (a Attempt, retry bool, after time.Duration) {
	now := d.cfg.Now()
	a = Attempt{DeliveryID: j.id, EventSeq: j.event.Seq, EventType: j.event.Type, Attempt: n, At: now}
	ctx, cancel := context.WithTimeout(d.ctx, d.cfg.AttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(j.body))
	if err != nil {
		a.Error = err.Error()
		return a, false, 0
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", d.cfg.UserAgent)
	h.Set("Sluice-Event", j.event.Type)
	h.Set("Sluice-Delivery", j.id)
	h.Set("Sluice-Attempt", strconv.Itoa(n))
	if j.secret != "" {
		h.Set(SignatureHeader, Sign(j.secret, now, j.body))
	}
	start := time.Now()
	resp, err := d.client.Do(req)
	if err == nil {
		// The receiver answered; its body does not matter beyond letting
		// the connection be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}
	dur := time.Since(start)
	a.Seconds = dur.Seconds()
	var result string
	var denied *outbound.DeniedError
	switch {
	case errors.As(err, &denied):
		// The policy will not change its mind on a retry.
		a.Error, result = denied.Error(), webhookNetworkError
	case err != nil:
		a.Error = err.Error()
		if errors.Is(err, context.DeadlineExceeded) {
			a.Error = fmt.Sprintf("no answer within %s", d.cfg.AttemptTimeout)
		}
		result, retry = webhookNetworkError, d.ctx.Err() == nil
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		a.Status, a.Outcome, result = resp.StatusCode, OutcomeDelivered, webhookSuccess
	default:
		a.Status, a.Error, result = resp.StatusCode, http.StatusText(resp.StatusCode), webhookClientError
		if resp.StatusCode >= 500 {
			result = webhookServerError
		}
		// Server errors and "too many requests" are worth another try;
		// other client errors will not get better.
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			retry = true
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
				after = time.Duration(s) * time.Second
			}
		}
	}
	if d.cfg.Metrics != nil {
		d.cfg.Metrics.WebhookAttempt(result, dur)
	}
	return a, retry, after
}

// Attempt results reported to WebhookMetrics.
const (
	webhookSuccess      = "success"
	webhookClientError  = "client_error"
	webhookServerError  = "server_error"
	webhookNetworkError = "network_error"
)

func (d *Deliverer) record(t *target, a Attempt) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(t.log) < cap(t.log) {
		t.log = append(t.log, a)
	} else {
		t.log[t.logNext] = a
		t.logNext = (t.logNext + 1) % len(t.log)
	}
	switch a.Outcome {
	case OutcomeDelivered:
		t.delivered++
	case OutcomeFailed, OutcomeRejected:
		t.failed++
	}
}

// Log returns the last attempts to the webhook at url, newest first, at
// most limit (all kept when limit <= 0).
func (d *Deliverer) Log(url string, limit int) []Attempt {
	d.mu.Lock()
	defer d.mu.Unlock()
	t := d.targets[url]
	if t == nil {
		return []Attempt{}
	}
	out := make([]Attempt, 0, len(t.log))
	for i := range len(t.log) {
		out = append(out, t.log[t.back(i)])
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out
}

// back returns the log index of the attempt i places before the newest.
func (t *target) back(i int) int {
	n := len(t.log)
	if n < cap(t.log) {
		return n - 1 - i
	}
	return ((t.logNext-1-i)%n + n) % n
}

// Webhooks sums up every receiver, by URL.
func (d *Deliverer) Webhooks() []WebhookStatus {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]WebhookStatus, 0, len(d.targets))
	for _, t := range d.targets {
		st := WebhookStatus{URL: t.url, Queued: len(t.queue), Delivered: t.delivered, Failed: t.failed, Dropped: t.dropped}
		if len(t.log) > 0 {
			last := t.log[t.back(0)]
			st.Last = &last
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].URL < out[j].URL })
	return out
}

// Dropped returns how many deliveries were dropped in all.
func (d *Deliverer) Dropped() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dropped
}

// Start does nothing: deliveries start as they are queued.
func (d *Deliverer) Start(context.Context) error { return nil }

// Close stops the workers, abandoning queued deliveries and cancelling
// those in flight, and waits for them.
func (d *Deliverer) Close(context.Context) error {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	d.cancel()
	d.wg.Wait()
	return nil
}
