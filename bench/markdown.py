"""`python -m bench.markdown [bench/results/<stamp>.json]`: the README's table from a results file (the newest
by default), so the README is updated from the JSON a run wrote, not by hand."""
from __future__ import annotations

import glob
import json
import os
import sys

from . import report


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    path = argv[0] if argv else max(glob.glob(os.path.join(report.RESULTS_DIR, "*.json")), default=None)
    if not path:
        print("no results file: run `make bench` first", file=sys.stderr)
        return 2
    with open(path, encoding="utf-8") as fh:
        document = json.load(fh)
    m = document["machine"]
    print(f"Run {document['timestamp']} ({os.path.basename(path)}), commit {str(m.get('git_commit'))[:10]}, "
          f"{m.get('cores')} cores, load average at start {m.get('loadavg_at_start', [0])[0]:.2f}, "
          f"{document.get('wall_seconds', 0) / 60:.1f} min{' (quick)' if document.get('quick') else ''}:\n")
    print(report.markdown(document["results"]))
    t8 = next((r for r in document["results"] if r["id"] == "T8" and not r.get("error")), None)
    if t8:
        print("\nT8, CPU ms per filing by process: " + ", ".join(
            f"{k} {v}" for k, v in t8["cpu_ms_per_filing_by_process"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
