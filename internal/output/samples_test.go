package output

import (
	"bytes"
	"testing"

	"github.com/Eyevinn/mp4ff/mp4"
)

func TestAnnexBPutsParameterSetsBeforeKeyFrames(t *testing.T) {
	sps, pps := []byte{0x67, 1, 2}, []byte{0x68, 3}
	idr := []byte{0x65, 9, 9}
	avcc := []byte{0, 0, 0, 3, 0x67, 7, 7, 0, 0, 0, 3, 0x65, 9, 9}
	got, err := annexB(avcc, [][]byte{sps, pps}, true)
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Join([][]byte{nil, sps, pps, idr}, startCode)
	if !bytes.Equal(got, want) {
		t.Errorf("key frame: % x, want % x (in-band SPS dropped, the init segment's first)", got, want)
	}
	delta := []byte{0, 0, 0, 2, 0x41, 5}
	if got, err := annexB(delta, [][]byte{sps, pps}, false); err != nil || !bytes.Equal(got, []byte{0, 0, 0, 1, 0x41, 5}) {
		t.Errorf("delta frame: % x %v", got, err)
	}
	for _, bad := range [][]byte{{0, 0, 0}, {0, 0, 0, 9, 1}, {0, 0, 0, 0}} {
		if _, err := annexB(bad, nil, false); err == nil {
			t.Errorf("% x accepted", bad)
		}
	}
}

// FuzzSamples: a fragment of any bytes is split into samples or refused,
// never more samples than the bound.
func FuzzSamples(f *testing.F) {
	f.Add([]byte{0, 0, 0, 8, 'm', 'o', 'o', 'f'})
	f.Add([]byte{})
	tr := Track{Timescale: 90000, H264: true, ParamSets: [][]byte{{0x67, 1}, {0x68, 2}}, trex: &mp4.TrexBox{}}
	f.Fuzz(func(t *testing.T, frag []byte) {
		s, err := tr.Samples(frag)
		if err == nil && len(s) > maxSamplesPerFragment {
			t.Fatalf("%d samples", len(s))
		}
	})
}
