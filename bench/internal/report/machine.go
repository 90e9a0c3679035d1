package report

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Machine describes where and with what a benchmark ran.
type Machine struct {
	Date      string `json:"date"`
	Cores     int    `json:"cores"`
	CPUModel  string `json:"cpuModel"`
	Kernel    string `json:"kernel"`
	GoVersion string `json:"goVersion"`
	FFmpeg    string `json:"ffmpeg"`
	Sluice    string `json:"sluice"`
	// LoadAverage is /proc/loadavg when the benchmark started: other work
	// on the machine skews the figures.
	LoadAverage string `json:"loadAverage"`
}

// DescribeMachine collects the machine description; what cannot be read is
// left empty.
func DescribeMachine(ctx context.Context, ffmpeg, sluiceVersion string) Machine {
	return Machine{
		Date:        time.Now().UTC().Format(time.RFC3339),
		Cores:       runtime.NumCPU(),
		CPUModel:    cpuModel(),
		Kernel:      firstLine("/proc/sys/kernel/osrelease"),
		GoVersion:   runtime.Version(),
		FFmpeg:      ffmpegVersion(ctx, ffmpeg),
		Sluice:      sluiceVersion,
		LoadAverage: firstLine("/proc/loadavg"),
	}
}

// Lines returns the description as "key: value" lines for the console.
func (m Machine) Lines() []string {
	return []string{
		"date:    " + m.Date,
		"machine: " + m.CPUModel + ", " + strconv.Itoa(m.Cores) + " cores, Linux " + m.Kernel + ", load " + m.LoadAverage,
		"ffmpeg:  " + m.FFmpeg,
		"sluice:  " + m.Sluice + " (" + m.GoVersion + " for the benchmark)",
	}
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func firstLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(line)
}

func ffmpegVersion(ctx context.Context, ffmpeg string) string {
	out, err := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-version").Output()
	if err != nil {
		return "unknown"
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(line)
}
