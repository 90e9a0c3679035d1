package cli

import "context"

// fetch reads one API resource into a T for a list or get command. With
// -o json it prints what it read and reports done, so the caller only
// renders its table when done is false.
func fetch[T any](ctx context.Context, g *globals, path string) (v T, done bool, err error) {
	c, err := g.client()
	if err != nil {
		return v, false, err
	}
	if err := c.do(ctx, "GET", path, nil, &v); err != nil {
		return v, false, err
	}
	j, err := g.wantJSON()
	if err != nil {
		return v, false, err
	}
	if j {
		return v, true, g.printJSON(v)
	}
	return v, false, nil
}
