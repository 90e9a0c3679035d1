package output

import (
	"path/filepath"
	"strconv"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// Descriptors of the remuxer's inputs: the video rendition and the audio,
// both fragmented MP4, written by Go.
const (
	remuxVideoFD = 3
	remuxAudioFD = 4
)

// ArchiveTimeLayout is the UTC time stamp in archive file names, as a
// strftime pattern; files sort in time order.
const ArchiveTimeLayout = "%Y%m%dT%H%M%SZ"

// RemuxArgs returns the argv of the ffmpeg that remuxes the encoded video
// and audio of a UDP, RTP, RTMP or ARCHIVE output without re-encoding
// (-c copy): nothing is decoded. dir is where ARCHIVE files go. Timestamps
// are kept as the encoder wrote them (-copyts) so audio and video stay in
// step whichever fragment each joined at. delay is how long after its
// capture a frame reaches the remuxer: ARCHIVE files are cut that much
// later on the remuxer's clock, so that they start at the capture-time
// marks the channel's date-times give.
func RemuxArgs(o resource.OutputGroup, dir string, delay time.Duration) []string {
	args := []string{
		"-hide_banner", "-nostdin", "-nostats", "-loglevel", "warning",
		"-copyts",
		// Fragments arrive whole: room for one in each input's queue.
		"-thread_queue_size", "512", "-f", "mp4", "-i", "pipe:" + strconv.Itoa(remuxVideoFD),
		"-thread_queue_size", "512", "-f", "mp4", "-i", "pipe:" + strconv.Itoa(remuxAudioFD),
		"-map", "0:v:0", "-map", "1:a:0", "-c", "copy",
	}
	switch o.Type {
	case resource.OutputUDP:
		// 7 TS packets a datagram, the size every UDP receiver expects.
		args = append(args, "-f", "mpegts", "-mpegts_flags", "+resend_headers", "-flush_packets", "1",
			o.Destination+"?pkt_size=1316")
	case resource.OutputRTP:
		// RTP payload type 33 (MP2T): readable without an SDP file.
		args = append(args, "-f", "rtp_mpegts", "-flush_packets", "1", o.Destination)
	case resource.OutputRTMP:
		args = append(args, "-f", "flv", "-flvflags", "no_duration_filesize", o.Destination)
	case resource.OutputArchive:
		format, ext := "mpegts", ".ts"
		if o.Container == resource.ContainerMP4 {
			format, ext = "mp4", ".mp4"
		}
		args = append(args, "-f", "segment", "-segment_format", format)
		if format == "mp4" {
			args = append(args, "-segment_format_options", "movflags=+faststart")
		}
		// Files roll at wall-clock multiples of the roll time (on the
		// minute, the hour, …), on the next key frame.
		args = append(args,
			"-segment_time", strconv.Itoa(int(o.Roll()/time.Second)), "-segment_atclocktime", "1")
		if delay > 0 {
			args = append(args, "-segment_clocktime_offset", strconv.FormatInt(delay.Microseconds(), 10)+"us")
		}
		args = append(args,
			"-reset_timestamps", "1", "-strftime", "1",
			filepath.Join(dir, o.Name+"-"+ArchiveTimeLayout+ext))
	}
	return args
}
