package store

import "testing"

// Each PostgreSQL advisory lock guards one thing: two that shared a key
// would make unrelated writes wait for each other.
func TestAdvisoryLocksAreDistinct(t *testing.T) {
	locks := map[string]int64{"migration": pgMigrationLock, "node": pgNodeLock, "users": pgUsersLock}
	seen := map[int64]string{}
	for name, key := range locks {
		if other, ok := seen[key]; ok {
			t.Errorf("the %s and %s locks share the key %#x", name, other, key)
		}
		seen[key] = name
	}
}
