"""Round trip through `mcp-blackbox wrap` vs direct, against the same real server (mcp-server-time).

The official client (`mcp.Client` over `stdio_client`) makes N `tools/call` requests to the bare server,
then N to the same server behind `wrap` (spool sink in a temp dir); prints p50/p99 of both and the
difference. Target: ≤ 1 ms added at p50.

    .venv/bin/python benchmarks/bench_wrap.py [--calls 1000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

BIN = Path(sys.executable).parent
SERVER = [str(BIN / "mcp-server-time"), "--local-timezone", "UTC"]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _run(params: StdioServerParameters, calls: int, warmup: int) -> list[float]:
    async with Client(stdio_client(params)) as client:
        samples: list[float] = []
        for i in range(warmup + calls):
            start = time.perf_counter_ns()
            await client.call_tool("get_current_time", {"timezone": "UTC"})
            if i >= warmup:
                samples.append((time.perf_counter_ns() - start) / 1e6)
        return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as spool:
        direct = StdioServerParameters(command=SERVER[0], args=SERVER[1:])
        wrapped = StdioServerParameters(command=str(BIN / "mcp-blackbox"),
                                        args=["wrap", "--name", "time", "--sink", f"spool://{spool}", "--", *SERVER])
        # interleave two rounds each so machine noise hits both sides alike
        d1 = anyio.run(_run, direct, args.calls // 2, args.warmup)
        w1 = anyio.run(_run, wrapped, args.calls // 2, args.warmup)
        d2 = anyio.run(_run, direct, args.calls - args.calls // 2, args.warmup)
        w2 = anyio.run(_run, wrapped, args.calls - args.calls // 2, args.warmup)
        d, w = d1 + d2, w1 + w2
        spooled = sum(1 for p in Path(spool).rglob("*.jsonl") for _ in p.open("rb"))
    print(f"calls per side: {len(d)} (tools/call get_current_time, mcp-server-time, official client)")
    print(f"direct  p50 {_pct(d, 0.5):7.3f} ms   p99 {_pct(d, 0.99):7.3f} ms   mean {statistics.fmean(d):7.3f} ms")
    print(f"wrapped p50 {_pct(w, 0.5):7.3f} ms   p99 {_pct(w, 0.99):7.3f} ms   mean {statistics.fmean(w):7.3f} ms")
    added50 = _pct(w, 0.5) - _pct(d, 0.5)
    print(f"added   p50 {added50:+7.3f} ms   p99 {_pct(w, 0.99) - _pct(d, 0.99):+7.3f} ms   "
          f"ratio p50 {_pct(w, 0.5) / _pct(d, 0.5):.2f}x   target <= 1 ms at p50: "
          f"{'met' if added50 <= 1.0 else 'NOT met'}")
    print(f"spool records written by wrap: {spooled}")


if __name__ == "__main__":
    main()
