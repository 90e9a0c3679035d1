#!/usr/bin/env bash
# Writes a sample MP4 for the demo channel: 30 s of a moving 720p test
# picture with a tone, H.264 and AAC. Usage: scripts/sample.sh OUT.mp4
set -euo pipefail
out="$1"
if [ -s "$out" ]; then
	exit 0
fi
mkdir -p "$(dirname "$out")"
echo "sample: generating $out with ffmpeg (30 s, 1280x720)" >&2
ffmpeg -hide_banner -loglevel error -nostdin -y \
	-f lavfi -i "testsrc2=size=1280x720:rate=30" \
	-f lavfi -i "sine=frequency=440:sample_rate=48000:beep_factor=4" \
	-t 30 -c:v libx264 -preset veryfast -pix_fmt yuv420p -g 60 \
	-c:a aac -b:a 128k -shortest -movflags +faststart "$out.tmp.mp4"
mv "$out.tmp.mp4" "$out"
