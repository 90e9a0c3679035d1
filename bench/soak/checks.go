package main

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/sluice-video/sluice/bench/internal/procfs"

	_ "modernc.org/sqlite" // the integrity check reads the server's SQLite file
)

// afterwards stops the server as an operator would and checks what must
// hold once it is down: no encoder left behind, the database intact, the
// spool within its bound, and what the log says.
func (r *rig) afterwards(ctx context.Context, res *results) {
	r.log.Printf("stopping the server and checking what it left")
	r.rtmpPub.stop()
	r.srtPub.stop()
	r.rtpPub.stop()
	r.node.stop()
	// Encoders of the server that outlived it (also those of killed runs).
	deadline := time.Now().Add(15 * time.Second)
	for {
		res.Orphans = orphans(r.ws.DataDir)
		if len(res.Orphans) == 0 || time.Now().After(deadline) {
			break
		}
		sleep(ctx, 500*time.Millisecond)
	}
	res.Integrity = integrity(filepath.Join(r.ws.DataDir, "sluice.db"))
	res.DVR = checkDVR(localArchives(r.ws.MediaPath("dvr")), r.channels, res.Baseline.at, windows(res.Faults, time.Now()), res.Faults, &r.gaps)
	res.SpoolBytes, res.LeftoverTemp = leftovers(r.ws.DataDir)
	res.Panics, res.ErrorKinds = scanLog(r.node.server().LogPath)
	if r.tmpfs && r.cfg.Keep {
		// The data directory's file system goes with the cleanup: keep
		// the server's log beside the others.
		if b, err := os.ReadFile(r.node.server().LogPath); err == nil {
			_ = os.WriteFile(filepath.Join(r.ws.Dir, "serve.log"), b, 0o600) //nolint:gosec // the soak's own workspace
		}
	}
}

// orphans lists the processes still running with the data directory in
// their command line.
func orphans(dataDir string) []string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	self := os.Getpid()
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil || pid == self {
			continue
		}
		args, err := procfs.Cmdline(pid)
		if err != nil || len(args) == 0 {
			continue
		}
		if strings.Contains(strings.Join(args, " "), dataDir) {
			out = append(out, fmt.Sprintf("%d %s", pid, procfs.Name(pid)))
		}
	}
	return out
}

// integrity runs SQLite's integrity check on the server's database.
func integrity(path string) string {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return "cannot open: " + err.Error()
	}
	defer db.Close()
	rows, err := db.Query("PRAGMA integrity_check")
	if err != nil {
		return "cannot check: " + err.Error()
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var s string
		if rows.Scan(&s) == nil {
			lines = append(lines, s)
		}
	}
	return strings.Join(lines, "; ")
}

// leftovers measures the segment spool and finds temporary files left in
// the data directory.
func leftovers(dataDir string) (spool int64, temp []string) {
	_ = filepath.WalkDir(dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dataDir, path)
		if strings.HasPrefix(rel, "spool"+string(filepath.Separator)) {
			if info, err := d.Info(); err == nil {
				spool += info.Size()
			}
		}
		name := d.Name()
		if strings.HasSuffix(name, ".tmp") || strings.HasPrefix(name, ".tmp") {
			temp = append(temp, rel)
		}
		return nil
	})
	return spool, temp
}

var logMessage = regexp.MustCompile(`msg="([^"]*)"|msg=(\S+)`)

// scanLog finds panics and data races in the server's log and counts its
// errors and warnings by message.
func scanLog(path string) (panics []string, kinds []logKind) {
	f, err := os.Open(path)
	if err != nil {
		return []string{"cannot read the log: " + err.Error()}, nil
	}
	defer f.Close()
	counts := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "panic: "), strings.HasPrefix(line, "fatal error: "), strings.Contains(line, "WARNING: DATA RACE"):
			panics = append(panics, line)
		case strings.Contains(line, "level=ERROR"), strings.Contains(line, "level=WARN"):
			level := "WARN"
			if strings.Contains(line, "level=ERROR") {
				level = "ERROR"
			}
			m := logMessage.FindStringSubmatch(line)
			msg := "?"
			if m != nil {
				msg = m[1] + m[2]
			}
			counts[level+" "+msg]++
		}
	}
	for k, n := range counts {
		kinds = append(kinds, logKind{Message: k, Count: n})
	}
	sort.Slice(kinds, func(i, j int) bool {
		if kinds[i].Count != kinds[j].Count {
			return kinds[i].Count > kinds[j].Count
		}
		return kinds[i].Message < kinds[j].Message
	})
	return panics, kinds
}

// logKind is one message of the log and how often it appeared.
type logKind struct {
	Message string `json:"message"`
	Count   int    `json:"count"`
}
