// Package filemode keeps the files that hold Sluice's secrets readable by
// its own user only: the state and queue databases (stream keys, webhook
// secrets, passphrases, in clear) with SQLite's write-ahead log and shared
// memory beside them, the API token and the encryption secret. Modes are
// set with chmod, so the umask has no say.
package filemode

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Private is the mode of every file this package looks after.
const Private fs.FileMode = 0o600

// SQLite makes the database at path private before it is opened: it is
// created empty with mode 0600 when missing, and it and any write-ahead
// log, shared memory or journal beside it are set to 0600. SQLite gives
// the files it creates later the database's mode, so they are private
// too; call it again after opening to be sure of files that existed.
func SQLite(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, Private)
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := Tighten(path); err != nil {
		return err
	}
	// The write-ahead log, shared memory and journal SQLite keeps beside.
	for _, suffix := range [...]string{"-wal", "-shm", "-journal"} {
		if err := Tighten(path + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// Tighten sets an existing file to mode 0600 when it is readable or
// writable by others.
func Tighten(path string) error {
	st, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() || st.Mode().Perm()&0o077 == 0 {
		return nil
	}
	if err := os.Chmod(path, Private); err != nil {
		return fmt.Errorf("making %s private: %w", path, err)
	}
	return nil
}

// Shared says, in words, whether a directory can be read by its group or
// by everyone; "" when it cannot.
func Shared(dir string) (string, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return "", err
	}
	perm := st.Mode().Perm()
	switch {
	case perm&0o004 != 0:
		return fmt.Sprintf("the data directory %s can be read by every user of this machine (mode %04o)", dir, perm), nil
	case perm&0o040 != 0:
		return fmt.Sprintf("the data directory %s can be read by its group (mode %04o)", dir, perm), nil
	}
	return "", nil
}
