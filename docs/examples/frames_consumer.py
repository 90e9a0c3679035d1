#!/usr/bin/env python3
"""Read decoded frames of a live Sluice channel as NumPy arrays.

Uses only the standard library and NumPy. Prints one JSON line per frame;
replace handle() with your training step. On a server with an API token,
pass it with --token (or SLUICE_TOKEN).

    python3 frames_consumer.py http://127.0.0.1:8080 lilo --width 224 --height 224 --fps 5 --count 50
"""
import argparse
import json
import os
import struct
import sys
import urllib.parse
import urllib.request

import numpy as np


def read_exact(stream, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = stream.read(n - len(buf))
        if not chunk:
            raise EOFError("the stream ended inside a frame")
        buf += chunk
    return bytes(buf)


def frames(base, channel, width, height, fps, count=None, token=None):
    """Yield (header, array) pairs; array is uint8 of shape (height, width, 3)."""
    query = {"width": width, "height": height, "fps": fps, "format": "rgb24"}
    if count:
        query["count"] = count
    url = f"{base}/api/v1/channels/{urllib.parse.quote(channel)}/frames?{urllib.parse.urlencode(query)}"
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req) as resp:
        while True:
            magic = resp.read(4)
            if not magic:
                return  # the server ended the stream (count reached)
            if magic != b"SLFR":
                raise ValueError(f"not a frames stream: {magic!r}")
            (hlen,) = struct.unpack(">I", read_exact(resp, 4))
            header = json.loads(read_exact(resp, hlen))
            (plen,) = struct.unpack(">I", read_exact(resp, 4))
            payload = read_exact(resp, plen)
            img = np.frombuffer(payload, dtype=np.uint8).reshape(header["height"], header["width"], 3)
            yield header, img


def handle(header, img):
    print(json.dumps({
        "seq": header["seq"],
        "pts": header["pts"],
        "time": header["time"],
        "shape": list(img.shape),
        "mean": round(float(img.mean()), 2),
        "fill": header.get("fill", False),
    }), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("base", help="the server, e.g. http://127.0.0.1:8080")
    p.add_argument("channel")
    p.add_argument("--width", type=int, default=224)
    p.add_argument("--height", type=int, default=224)
    p.add_argument("--fps", type=float, default=5)
    p.add_argument("--count", type=int, default=0, help="stop after this many frames (0: never)")
    p.add_argument("--token", default=os.environ.get("SLUICE_TOKEN"), help="the server's API token, if it has one")
    a = p.parse_args()
    for header, img in frames(a.base, a.channel, a.width, a.height, a.fps, a.count, a.token):
        handle(header, img)


if __name__ == "__main__":
    sys.exit(main())
