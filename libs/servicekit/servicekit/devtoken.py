"""`make token`: prints a development officer JWT on its last line (HS256 with MOTCUA_JWT_SECRET)."""
from __future__ import annotations

import argparse

from .auth import ROLES, issue_token
from .config import KitSettings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="make token")
    parser.add_argument("--role", choices=ROLES, required=True)
    parser.add_argument("--agency", required=True)
    parser.add_argument("--sub", default="")
    parser.add_argument("--ttl", type=int, default=8 * 3600)
    args = parser.parse_args(argv)
    settings = KitSettings.from_env("processing")
    sub = args.sub or f"{args.role}-{args.agency}"
    print(f"# {args.role} of {args.agency} (sub={sub}), valid {args.ttl} s")
    print(issue_token(settings, sub=sub, role=args.role, agency=args.agency, ttl_seconds=args.ttl))


if __name__ == "__main__":
    main()
