package resource

import "time"

// The resource model keeps lengths of time as the numbers of seconds (or
// minutes, or milliseconds) its JSON and YAML fields name, so stack files
// and the API say "segmentSeconds: 2". Each such field has one accessor on
// its type that applies the field's default and returns a time.Duration;
// the rest of Sluice uses only those. These two helpers are where the
// numbers become durations.

// seconds turns a number of seconds into a duration, to the nanosecond
// below.
func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// wholeSeconds turns a whole number of seconds into a duration.
func wholeSeconds(n int) time.Duration { return time.Duration(n) * time.Second }
