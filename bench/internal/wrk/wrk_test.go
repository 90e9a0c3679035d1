package wrk

import "testing"

func TestParseWrk(t *testing.T) {
	out := `Running 8s test @ http://127.0.0.1:4000/x
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.20ms    2.10ms  40.00ms   90.00%
    Req/Sec    25.00k     2.00k   30.00k    70.00%
  Latency Distribution
     50%  800.00us
     75%    1.10ms
     90%    2.00ms
     99%   12.50ms
  400000 requests in 8.00s, 1.00GB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  50000.12
Transfer/sec:    128.00MB
`
	r, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.RequestsPerSecond != 50000.12 || r.P99Milliseconds != 12.5 || r.Errors != 7 {
		t.Errorf("%+v", r)
	}
	r, err = Parse("     99%  900.00us\nRequests/sec: 10.5\n")
	if err != nil || r.P99Milliseconds != 0.9 {
		t.Errorf("%+v %v", r, err)
	}
	if _, err := Parse("unable to connect"); err == nil {
		t.Error("garbage parsed")
	}
}
