package srt

import (
	"errors"
	"fmt"
	"time"

	gosrt "github.com/datarhei/gosrt"

	"github.com/sluice-video/sluice/internal/input/live"
)

// handle decides one connection request in its handshake, before any
// media: the stream id, the key, the passphrase and a free input (screen
// has checked the address); then it reads the accepted publisher's
// stream. decided takes the request out of those in progress.
func (l *Listener) handle(req gosrt.ConnRequest, remote string, decided func()) {
	log := l.Logger.With("remote", remote)
	defer func() {
		// A bug in a parser of hostile bytes must not end the server.
		if p := recover(); p != nil {
			req.Reject(gosrt.REJX_ISE) // a no-op once answered
			log.Error("SRT connection ended on malformed data", "panic", fmt.Sprint(p))
		}
	}()

	key, err := parseStreamID(req.StreamId())
	if err != nil {
		reason := gosrt.REJX_BAD_REQUEST
		if errors.Is(err, errPlayback) {
			reason = gosrt.REJX_BAD_MODE
		}
		req.Reject(reason)
		l.refusals.Refuse(remote, live.RefusedBadRequest, "SRT caller refused", "reason", err.Error())
		return
	}
	hub, err := l.Registry.Admit("srt", key, remote)
	if err != nil {
		// The answer does not tell a wrong key from a refused address.
		l.penalty(remote)
		req.Reject(gosrt.REJX_FORBIDDEN)
		refusal := live.RefusedStreamKey
		if errors.Is(err, live.ErrNotAllowed) {
			refusal = live.RefusedSecurityGroup
		}
		l.refusals.Refuse(remote, refusal, "SRT caller refused", "reason", err.Error())
		return
	}
	log = log.With("input", hub.Name())
	cfg, _ := l.Registry.Lookup("srt", key)
	if reason, err := checkPassphrase(req, cfg.Passphrase); err != nil {
		hub.Refused()
		l.Registry.Fail(remote)
		l.penalty(remote)
		req.Reject(reason)
		l.refusals.Refuse(remote, live.RefusedPassphrase, "SRT caller refused", "input", hub.Name(), "reason", err.Error())
		return
	}
	sess, err := hub.Claim(live.Publisher{Protocol: "srt", Remote: remote})
	if err != nil {
		req.Reject(gosrt.REJX_CONFLICT)
		l.refusals.Refuse(remote, live.RefusedBusy, "SRT caller refused: the input already has a publisher", "input", hub.Name(), "reason", err.Error())
		return
	}
	defer sess.Close("the SRT connection failed on malformed data") // a no-op unless a parser panicked
	conn, err := req.Accept()
	decided()
	if err != nil {
		sess.Close("the SRT handshake did not complete")
		log.Warn("SRT handshake failed", "error", err.Error())
		return
	}
	if !l.track(conn) {
		_ = conn.Close()
		sess.Close("the SRT listener is shutting down")
		return
	}
	defer l.untrack(conn)
	defer conn.Close() // readSession closes it; this covers a panic
	log.Info("SRT publisher connected", "encrypted", req.IsEncrypted())
	reason := readSession(conn, hub, sess, l.ReadTimeout, func(w string) { log.Warn("SRT publisher: " + w) })
	if l.isClosed() {
		reason = "the SRT listener is shutting down"
	}
	sess.Close(reason)
	log.Info("SRT publisher disconnected", "reason", reason)
}

// checkPassphrase sets the input's passphrase on an encrypted request;
// a wrong passphrase, or encryption on one side only, refuses the caller.
func checkPassphrase(req gosrt.ConnRequest, passphrase string) (gosrt.RejectionReason, error) {
	switch {
	case passphrase == "" && req.IsEncrypted():
		return gosrt.REJ_UNSECURE, errors.New("the caller encrypts but the input has no passphrase")
	case passphrase == "":
		return 0, nil
	case !req.IsEncrypted():
		return gosrt.REJ_UNSECURE, errors.New("the input needs a passphrase but the caller does not encrypt")
	}
	if err := req.SetPassphrase(passphrase); err != nil {
		return gosrt.REJ_BADSECRET, errors.New("wrong passphrase")
	}
	return 0, nil
}

// penalty waits the registry's penalty for the address before a refusal is
// answered, so that guessing keys gets slower with every wrong guess.
func (l *Listener) penalty(remote string) {
	p := l.Registry.Penalty(remote)
	if p <= 0 {
		return
	}
	t := time.NewTimer(p)
	defer t.Stop()
	select {
	case <-t.C:
	case <-l.done:
	}
}
