package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sluice-video/sluice/internal/testutil/clockcode"
)

// The page draws the clock code itself, in JavaScript: its check byte must
// be the one the Go reader expects.
func TestPageDrawsTheClockCodesCheck(t *testing.T) {
	want := fmt.Sprintf("crc8(bytes) ^ %#x", clockcode.CheckXor)
	if !strings.Contains(playerPage, want) {
		t.Errorf("the page's clock code does not xor its CRC with clockcode.CheckXor (%q)", want)
	}
}
