package store

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"
)

// KeepSecret stores value as the secret called name unless one is stored
// already, and returns the stored one: the first start (of the first node)
// decides, and every start of every node on the database reads the same.
func (s *Store) KeepSecret(ctx context.Context, name string, value []byte) ([]byte, error) {
	var stored string
	err := s.again(ctx, func(ctx context.Context) error {
		if _, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO secrets (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`),
			name, hex.EncodeToString(value), formatTime(time.Now())); err != nil {
			return err
		}
		return s.db.QueryRowContext(ctx, s.rebind(`SELECT value FROM secrets WHERE name = ?`), name).Scan(&stored)
	})
	if err != nil {
		return nil, err
	}
	b, err := hex.DecodeString(stored)
	if err != nil {
		return nil, fmt.Errorf("the stored secret %s is unreadable: %w", name, err)
	}
	return b, nil
}
