package config

import (
	"strings"
	"testing"
)

func TestParseDistributions(t *testing.T) {
	good := `name: cdn
distributions:
  - name: eu
    listen: ":8081"
    origins: [http://origin-a:8080, http://origin-b:8080]
    memoryMB: 512
    staleIfErrorSeconds: 30
    requireSignedURLs: true
`
	st, err := Parse("cdn.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Distributions) != 1 || st.Distributions[0].Origins[1] != "http://origin-b:8080" || !st.Distributions[0].RequireSignedURLs {
		t.Errorf("%+v", st.Distributions)
	}
	bad := `name: cdn
distributions:
  - name: eu
    listen: ":8081"
    origins: [http://origin-a:8080/live]
    cacheSize: 3
`
	_, err = Parse("cdn.yaml", []byte(bad))
	if err == nil || !strings.Contains(err.Error(), `cdn.yaml:6:5: distributions[0]: unknown key "cacheSize"`) {
		t.Errorf("unknown key: %v", err)
	}
	bad = strings.Replace(bad, "    cacheSize: 3\n", "", 1)
	_, err = Parse("cdn.yaml", []byte(bad))
	if err == nil || !strings.Contains(err.Error(), "cdn.yaml:5:15: distributions[0].origins[0]") {
		t.Errorf("origin with a path: %v", err)
	}
}
