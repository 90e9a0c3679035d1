package cluster

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sluice-video/sluice/internal/store"
)

// listen holds one connection LISTENing for the cluster's notifications
// until ctx ends: each refreshes the directory and wakes the followers
// (Wakes). A lost connection is opened again after a pause, and the
// followers are woken then too: notifications sent meanwhile are lost
// (their periodic reading would see the changes a little later).
func (c *Cluster) listen(ctx context.Context) {
	pool := c.cfg.Store.Pool()
	if pool == nil {
		return
	}
	refresh := make(chan struct{}, 1)
	c.spawn(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-refresh:
				c.refresh(ctx)
				c.wake()
			}
		}
	})
	poke := func() {
		select {
		case refresh <- struct{}{}:
		default:
		}
	}
	for ctx.Err() == nil {
		err := c.listenOnce(ctx, pool, poke)
		if ctx.Err() != nil {
			return
		}
		c.logOnce("listen", "listening for the cluster's notifications failed; nodes learn of changes at their next reading", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// listenOnce LISTENs on a connection of its own, taken from the pool and
// closed when it fails or ctx ends, and pokes for every notification.
func (c *Cluster) listenOnce(ctx context.Context, pool *pgxpool.Pool, poke func()) error {
	actx, cancel := context.WithTimeout(ctx, c.statementTimeout())
	pc, err := pool.Acquire(actx)
	cancel()
	if err != nil {
		return err
	}
	conn := pc.Hijack()
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	lctx, cancel := context.WithTimeout(ctx, c.statementTimeout())
	_, err = conn.Exec(lctx, "LISTEN "+pgx.Identifier{store.NotifyChannel()}.Sanitize())
	cancel()
	if err != nil {
		return err
	}
	c.clearOnce("listen", "listening for the cluster's notifications again")
	// What was sent while no connection listened.
	poke()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		poke()
	}
}
