package sluice

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// modulePath is the Go module whose binary is benchmarked.
const modulePath = "github.com/sluice-video/sluice"

// ModuleRoot returns the directory of Sluice's go.mod, searched from the
// working directory upwards.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if isSluiceModule(filepath.Join(dir, "go.mod")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the Sluice module (no go.mod of " + modulePath + " above the working directory)")
		}
		dir = parent
	}
}

func isSluiceModule(gomod string) bool {
	f, err := os.Open(gomod)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.TrimSpace(rest) == modulePath
		}
	}
	return false
}

// Binary returns the absolute path of the sluice binary to benchmark: path
// when given, otherwise bin/sluice of the module, built with `go build` if
// it does not exist yet. logf reports the build.
func Binary(ctx context.Context, path string, logf func(string, ...any)) (string, error) {
	if path != "" {
		abs, err := filepath.Abs(path)
		if err != nil {
			return "", err
		}
		if _, err := os.Stat(abs); err != nil {
			return "", fmt.Errorf("--sluice: %w", err)
		}
		return abs, nil
	}
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(root, "bin", "sluice")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	logf("building %s", bin)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/sluice")
	cmd.Dir = root
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/sluice: %w", err)
	}
	return bin, nil
}

// Version returns what `sluice version` prints.
func Version(ctx context.Context, bin string) string {
	out, err := exec.CommandContext(ctx, bin, "version").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}
