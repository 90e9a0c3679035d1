package output

import (
	"context"
	"errors"
	"io"
	"testing"
)

// TestFirstFragmentWinsOverTheEnd: a run fed whole before the decoder
// looks has both its first fragment and its end ready; the fragment must
// win every time (it used to lose half the time: a short run then gave no
// picture at all), and the end stays for the read loop.
func TestFirstFragmentWinsOverTheEnd(t *testing.T) {
	for i := range 200 {
		firstPTS := make(chan int64, 1)
		feedErr := make(chan error, 1)
		firstPTS <- 900
		feedErr <- io.EOF
		t0, err := firstFragment(context.Background(), firstPTS, feedErr)
		if err != nil || t0 != 900 {
			t.Fatalf("try %d: %d, %v; want the first fragment", i, t0, err)
		}
		if got := <-feedErr; !errors.Is(got, io.EOF) {
			t.Fatalf("try %d: the end was not kept: %v", i, got)
		}
	}
	// A run that ended before any fragment ends the decode.
	feedErr := make(chan error, 1)
	feedErr <- io.EOF
	if _, err := firstFragment(context.Background(), make(chan int64), feedErr); !errors.Is(err, io.EOF) {
		t.Fatalf("no fragment: %v", err)
	}
}
