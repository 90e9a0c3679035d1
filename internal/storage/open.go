package storage

import (
	"context"
	"fmt"
)

// Open opens a storage location: a folder (created when missing), or an
// S3 bucket (created when missing), relative folders under base. what
// names it in errors ("harvest storage").
func Open(ctx context.Context, what, raw, base string) (Storage, error) {
	loc, err := ParseLocation(raw, base, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	st, err := loc.Open()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, loc, err)
	}
	if b, ok := st.(interface{ EnsureBucket(context.Context) error }); ok {
		if err := b.EnsureBucket(ctx); err != nil {
			return nil, fmt.Errorf("%s %s: %w", what, loc, err)
		}
	}
	return st, nil
}
