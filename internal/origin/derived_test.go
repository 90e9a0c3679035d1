package origin

import (
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

func TestDerivedCacheDerivesOncePerKey(t *testing.T) {
	var c derivedCache
	var calls atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	results := make([][]byte, 50)
	for i := range results {
		wg.Go(func() {
			b, err := c.get("news/720p/1/42", func() ([]byte, error) {
				calls.Add(1)
				<-release
				return []byte("sealed"), nil
			})
			if err != nil {
				t.Error(err)
			}
			results[i] = b
		})
	}
	// Another key is derived while the first one is still being derived.
	if b, err := c.get("news/360p/1/42", func() ([]byte, error) { return []byte("other"), nil }); err != nil || string(b) != "other" {
		t.Fatalf("other key: %q %v", b, err)
	}
	close(release)
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Fatalf("derived %d times for 50 concurrent requests", n)
	}
	for i, b := range results {
		if string(b) != "sealed" {
			t.Fatalf("request %d got %q", i, b)
		}
	}
}

func TestDerivedCacheForgetsFailuresAndStaysBounded(t *testing.T) {
	var c derivedCache
	boom := errors.New("remux failed")
	if _, err := c.get("k", func() ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("error %v", err)
	}
	b, err := c.get("k", func() ([]byte, error) { return []byte("second try"), nil })
	if err != nil || string(b) != "second try" {
		t.Fatalf("a failure was kept: %q %v", b, err)
	}
	for i := range 3 * derivedCacheSize {
		if _, err := c.get(strconv.Itoa(i), func() ([]byte, error) { return []byte{byte(i)}, nil }); err != nil {
			t.Fatal(err)
		}
	}
	if len(c.items) != derivedCacheSize || len(c.order) != derivedCacheSize {
		t.Fatalf("%d items, %d in order, want %d", len(c.items), len(c.order), derivedCacheSize)
	}
	if _, ok := c.items[strconv.Itoa(3*derivedCacheSize-1)]; !ok {
		t.Fatal("the newest body was evicted")
	}
	if _, ok := c.items["0"]; ok {
		t.Fatal("the oldest body was kept")
	}
}
