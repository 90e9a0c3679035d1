package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// sharedArchives reads the DVR archives of a cluster where every node
// reads them: the index and the description in the state database (the
// segments' objects are on the shared storage, keyed by the index), as
// the nodes left them.
func sharedArchives(ctx context.Context, dsn string) archiveReader {
	return func(channel string) ([]archiveEntry, archiveMeta, error) {
		fail := func(err error) ([]archiveEntry, archiveMeta, error) {
			return nil, archiveMeta{}, fmt.Errorf("reading the DVR archive of %s from the database: %w", channel, err)
		}
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return fail(err)
		}
		defer db.Close()
		qctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		var meta string
		err = db.QueryRowContext(qctx, `SELECT meta FROM dvr_archives WHERE channel = $1`, channel).Scan(&meta)
		if errors.Is(err, sql.ErrNoRows) {
			return fail(errors.New("no archive"))
		}
		if err != nil {
			return fail(err)
		}
		rows, err := db.QueryContext(qctx, `SELECT entry FROM dvr_segments WHERE channel = $1 ORDER BY number`, channel)
		if err != nil {
			return fail(err)
		}
		defer rows.Close()
		var lines [][]byte
		for rows.Next() {
			var entry string
			if err := rows.Scan(&entry); err != nil {
				return fail(err)
			}
			lines = append(lines, []byte(entry))
		}
		if err := rows.Err(); err != nil {
			return fail(err)
		}
		return parseArchive(channel, []byte(meta), lines)
	}
}
