"""`python -m bench.run`: the suite's benchmark (targets T1–T4 of DESIGN.md) as ratios against same-run baselines."""
