// Package backing starts the services a benchmark's cluster of nodes
// shares, as real processes on loopback: a throwaway PostgreSQL and a
// MinIO server. Both can be stopped and started again on their data and
// their address, as the faults of a soak need.
package backing
