package config

import (
	"strings"
	"testing"
)

func TestParsePresetsAndPipelines(t *testing.T) {
	good := `name: media
presets:
  - name: small-abr
    kind: ABR
    segment: 2
    rungs:
      - {name: 360p, width: 640, height: 360, bitrate: 600000}
pipelines:
  - name: uploads
    input: /srv/uploads
    watch: true
    suffixes: [.mp4, .mov]
    output: s3://media/vod?endpoint=127.0.0.1:9000&insecure=1
    presets: [small-abr, system-thumbnails]
`
	st, err := Parse("media.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Presets) != 1 || st.Presets[0].Rungs[0].Width != 640 || len(st.Pipelines) != 1 || !st.Pipelines[0].Watch {
		t.Fatalf("%+v %+v", st.Presets, st.Pipelines)
	}
	bad := strings.Replace(good, "width: 640", "width: 641", 1)
	_, err = Parse("media.yaml", []byte(bad))
	if err == nil || !strings.Contains(err.Error(), "presets[0].rungs[0].width") || !strings.Contains(err.Error(), "media.yaml:7:") {
		t.Errorf("odd width: %v", err)
	}
	bad = strings.Replace(good, "    watch: true\n", "    watch: true\n    bucket: x\n", 1)
	_, err = Parse("media.yaml", []byte(bad))
	if err == nil || !strings.Contains(err.Error(), `pipelines[0]: unknown key "bucket"`) {
		t.Errorf("unknown key: %v", err)
	}
}
