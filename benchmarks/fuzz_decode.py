"""Long fuzz run of the collector's decode path: mutated and generated records, every one stored or quarantined.

One command:  .venv/bin/python benchmarks/fuzz_decode.py [--records 1000000] [--batch 5000] [--seed 1]
                                                        [--valid-share 0.1]

Feeds records from the mutation fuzzer of tests/ingest/ingest_fuzz.py (valid canonical events mutated at
the byte and JSON level, plus generated non-events) through `Decoder.decode`, the collector's entry point,
batch after batch with fresh seeds, and checks every batch as the CI fuzz test does (the batch is
partitioned into stored rows and quarantined records, nothing raises, only sound rows are stored). Prints
records/s, stored and quarantined counts, the most frequent quarantine reasons, and as a same-run
baseline the decode rate of the same number of valid canonical records. Exit status 1 on any violation.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "ingest"))

from ingest_eventgen import EventFactory  # noqa: E402
from ingest_fuzz import FuzzRecords  # noqa: E402
from test_ingest_fuzz import check_batch  # noqa: E402

from mcp_blackbox.collector.ingest.decode import Decoder  # noqa: E402
from mcp_blackbox.schema.model import utc_now  # noqa: E402


def reason_class(error: str) -> str:
    """A quarantine reason without its particulars (positions, values), for counting."""
    text = re.sub(r"\d+", "N", error)
    return text.split(" at line ")[0][:90]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--valid-share", type=float, default=0.1)
    args = parser.parse_args()
    decoder = Decoder()
    stored = quarantined = batches = 0
    reasons: Counter[str] = Counter()
    decode_s = gen_s = 0.0
    failures = 0
    seed = args.seed
    fuzz = FuzzRecords(seed=seed, valid_share=args.valid_share)
    started = time.perf_counter()
    done = 0
    while done < args.records:
        if batches and batches % 20 == 0:  # fresh events and mutations now and then
            seed += 1
            fuzz = FuzzRecords(seed=seed, valid_share=args.valid_share)
        t0 = time.perf_counter()
        values = fuzz.batch(min(args.batch, args.records - done))
        t1 = time.perf_counter()
        now = utc_now()
        result = decoder.decode(values, now)
        t2 = time.perf_counter()
        gen_s += t1 - t0
        decode_s += t2 - t1
        try:
            check_batch(values, result, now)
        except AssertionError as exc:
            failures += 1
            print(f"VIOLATION in batch {batches} (seed {seed}): {exc}", file=sys.stderr)
        stored += result.table.num_rows
        quarantined += len(result.bad)
        reasons.update(reason_class(b.error) for b in result.bad)
        done += len(values)
        batches += 1
        if batches % 20 == 0:
            print(f"  {done:>9,} records  {done / decode_s:8,.0f} records/s decode  stored {stored:,}  "
                  f"quarantined {quarantined:,}", flush=True)
    wall = time.perf_counter() - started

    valid = [v for _, v in EventFactory(seed=args.seed, emitters=50).wire(min(args.records, 200_000))]
    base_s = 0.0
    base_done = 0
    while base_done < args.records:
        chunk = valid[: min(args.batch, args.records - base_done)]
        t0 = time.perf_counter()
        decoder.decode(chunk, utc_now())
        base_s += time.perf_counter() - t0
        base_done += len(chunk)

    print(f"\nfuzzed records: {done:,} in {batches} batches of {args.batch} (seed {args.seed}.., valid share "
          f"{args.valid_share})")
    print(f"  stored {stored:,}  quarantined {quarantined:,}  sum {stored + quarantined:,}  "
          f"violations {failures}")
    print(f"  decode {done / decode_s:,.0f} records/s ({decode_s:.1f} s; generation {gen_s:.1f} s; wall {wall:.1f} s)")
    print(f"baseline, same run: valid canonical records {base_done / base_s:,.0f} records/s ({base_s:.1f} s)")
    print("most frequent quarantine reasons:")
    for text, count in reasons.most_common(15):
        print(f"  {count:>9,}  {text}")
    ok = failures == 0 and stored + quarantined == done
    print("RESULT:", "every record stored or quarantined" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
