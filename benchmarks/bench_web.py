"""`glcic serve` under load, side by side in one run: 1, 4 and 20 concurrent clients.

    python benchmarks/bench_web.py [--requests 40] [--workers 1] [--queue-size 4]

Starts a real server with the bundled model on a free loopback port; each client posts a 512x384
photo with a 60x80 hole again and again (no pause) until the run has sent `--requests`. Reports
completed requests per second, p50 / p95 latency of the 200s, and how many got 503 (queue full).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


def main() -> int:
    from conftest import box_mask, scene
    from test_web_browser import start_server

    from glcic.image_io import encode_image
    from glcic.model_file import bundled_model_path

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=40, help="requests per concurrency level")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--queue-size", type=int, default=4)
    args = parser.parse_args()
    image = scene(384, 512, seed=1)
    mask = box_mask(384, 512, (150, 200, 60, 80)).astype(np.uint8) * 255
    boundary = uuid.uuid4().hex
    body = b"".join(
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}.png\"\r\nContent-Type: image/png\r\n\r\n".encode()
        + encode_image(array, ".png") + b"\r\n" for name, array in (("image", image), ("mask", mask))
    ) + f"--{boundary}--\r\n".encode()
    process, url = start_server(bundled_model_path(), "--workers", str(args.workers), "--queue-size", str(args.queue_size))
    print(f"{args.requests} requests per row, workers {args.workers}, queue {args.queue_size}; 512x384 photo, 60x80 hole\n")
    print("| clients | completed / s | p50 s | p95 s | 503 (busy) |")
    print("|---|---|---|---|---|")
    try:
        for clients in (1, 4, 20):
            latencies, busy, lock, sent = [], [0], threading.Lock(), [0]

            def client():
                while True:
                    with lock:
                        if sent[0] >= args.requests:
                            return
                        sent[0] += 1
                    request = urllib.request.Request(url + "api/complete", data=body, method="POST",
                                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
                    start = time.perf_counter()
                    try:
                        with urllib.request.urlopen(request, timeout=300) as response:
                            response.read()
                        with lock:
                            latencies.append(time.perf_counter() - start)
                    except urllib.error.HTTPError as error:
                        if error.code != 503:
                            raise
                        with lock:
                            busy[0] += 1
                        time.sleep(float(error.headers.get("Retry-After", 1)) / 10)

            started = time.perf_counter()
            threads = [threading.Thread(target=client) for _ in range(clients)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
            p95 = statistics.quantiles(latencies, n=20)[-1] if len(latencies) >= 2 else latencies[0]
            print(f"| {clients} | {len(latencies) / elapsed:.2f} | {statistics.median(latencies):.3f} | {p95:.3f} | {busy[0]} |", flush=True)
    finally:
        process.terminate()
        process.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
