package cluster

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sluice-video/sluice/internal/store"
)

// Store is what a node reads and writes of the shared state database;
// *store.Store satisfies it.
type Store interface {
	// Pool is the PostgreSQL pool the node LISTENs on (nil on SQLite).
	Pool() *pgxpool.Pool

	ClaimNode(ctx context.Context, n store.NodeRecord, fresh time.Duration) (*store.NodeRecord, error)
	GetNode(ctx context.Context, id string) (store.NodeRecord, error)
	Heartbeat(ctx context.Context, id, incarnation string) (time.Time, error)
	NodeLeaving(ctx context.Context, id, incarnation string) error
	NodeGoodbye(ctx context.Context, id, incarnation string) error
	ListNodes(ctx context.Context) ([]store.NodeRecord, time.Time, error)

	AcquirePipelineLease(ctx context.Context, key store.LeaseKey, holder, incarnation string, ttl time.Duration) (store.Acquired, error)
	RenewLeases(ctx context.Context, holder, incarnation string, ttl time.Duration, keys []store.LeaseKey) (map[store.LeaseKey]uint64, error)
	ReleaseLease(ctx context.Context, channelID string, f store.Fence) error
	ListLeases(ctx context.Context) ([]store.LeaseRecord, error)

	// ListChannels is what a single server's node list counts.
	ListChannels(ctx context.Context) ([]store.ChannelRecord, error)
}
