#!/usr/bin/env python3
"""Router lines for measuring `chart`, `suggest` and `replay` (issue 20, point 4).

One router line a minute from 2026-01-01, written to standard output (gzip it yourself):

    tests/tools/router_lines.py normal  300000 > normal.log     # service 10-200 ms, one host
    tests/tools/router_lines.py huge    300000 > huge.log       # service one day (86400000 ms)
    tests/tools/router_lines.py hosts   300000 > hosts.log      # 1,024 hosts, round robin

then `/usr/bin/time -v autoscale chart --input normal.log --output x.svg` (and `suggest`,
`replay`); "Maximum resident set size" is the peak.
"""
import datetime
import random
import sys


def main():
    shape = sys.argv[1] if len(sys.argv) > 1 else "normal"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 300_000
    if shape not in ("normal", "huge", "hosts"):
        sys.exit("shape: normal, huge or hosts")
    rng = random.Random(20)
    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    out = sys.stdout
    for i in range(count):
        at = start + datetime.timedelta(minutes=i, seconds=rng.randrange(60))
        host = f"shop{i % 1024}.herokuapp.com" if shape == "hosts" else "shop.herokuapp.com"
        service = 86_400_000 if shape == "huge" else rng.randrange(10, 200)
        out.write(
            f"{at.strftime('%Y-%m-%dT%H:%M:%S')}.000000+00:00 heroku[router]: at=info method=GET "
            f'path="/" host={host} request_id=8601b555-6a2c-4bd4-9e37-{i:012d} '
            f'fwd="203.0.113.7" dyno=web.{1 + i % 3} connect=0ms service={service}ms '
            f"status=200 bytes=512 protocol=https\n"
        )


if __name__ == "__main__":
    main()
