package resource

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Bitrate is a rate in bits per second. In JSON and YAML it is a number
// (3000000) or a string with a k, M or G suffix ("3M", "800k").
type Bitrate int64

// ParseBitrate reads "3000000", "3M", "800k", "1.5M" or "2G".
func ParseBitrate(s string) (Bitrate, error) {
	t := strings.TrimSpace(s)
	mult := 1.0
	if t != "" {
		switch t[len(t)-1] {
		case 'k', 'K':
			mult = 1e3
		case 'm', 'M':
			mult = 1e6
		case 'g', 'G':
			mult = 1e9
		}
		if mult != 1 {
			t = t[:len(t)-1]
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 || v*mult > 1e12 {
		return 0, fmt.Errorf("%q is not a bitrate: use bits per second (3000000) or a k/M/G suffix (\"3M\")", s)
	}
	return Bitrate(v * mult), nil
}

// UnmarshalJSON accepts a number or a suffixed string.
func (b *Bitrate) UnmarshalJSON(data []byte) error {
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		v, err := ParseBitrate(s)
		if err != nil {
			return err
		}
		*b = v
		return nil
	}
	var f float64
	if err := json.Unmarshal(data, &f); err != nil {
		return fmt.Errorf("%s is not a bitrate: use bits per second (3000000) or a k/M/G suffix (\"3M\")", data)
	}
	if f < 0 || f > 1e12 {
		return fmt.Errorf("%s is out of range for a bitrate", data)
	}
	*b = Bitrate(f)
	return nil
}

// UnmarshalText lets stack files use the same spellings as JSON.
func (b *Bitrate) UnmarshalText(text []byte) error {
	v, err := ParseBitrate(string(text))
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// String formats the rate for people: "3M", "800k", "96k".
func (b Bitrate) String() string {
	switch {
	case b >= 1e6 && b%1e5 == 0:
		return strconv.FormatFloat(float64(b)/1e6, 'f', -1, 64) + "M"
	case b >= 1e3 && b%100 == 0:
		return strconv.FormatFloat(float64(b)/1e3, 'f', -1, 64) + "k"
	}
	return strconv.FormatInt(int64(b), 10)
}
