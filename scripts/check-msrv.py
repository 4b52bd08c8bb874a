#!/usr/bin/env python3
"""Checks that the workspace's `rust-version` tells the truth.

Two halves check it: clippy's `incompatible_msrv` lint (run by CI with
`-D warnings`) refuses standard-library APIs newer than `rust-version` in our
own code, and this script refuses a `rust-version` older than that of any
dependency in `Cargo.lock` (whose own builds would fail on it) or newer than
the toolchain that runs CI (which could then not claim to build it).
"""
import json
import re
import subprocess
import sys


def version(text):
    parts = [int(p) for p in re.findall(r"\d+", text)[:3]]
    return tuple(parts + [0] * (3 - len(parts)))


def main():
    meta = json.loads(
        subprocess.check_output(
            ["cargo", "metadata", "--format-version", "1", "--locked", "--all-features"]
        )
    )
    members = set(meta["workspace_members"])
    ours = {version(p["rust_version"]) for p in meta["packages"] if p["id"] in members and p.get("rust_version")}
    if len(ours) != 1:
        sys.exit(f"check-msrv: workspace members declare different rust-versions: {sorted(ours)}")
    (declared,) = ours
    deps = [
        (version(p["rust_version"]), f"{p['name']} {p['version']}")
        for p in meta["packages"]
        if p["id"] not in members and p.get("rust_version")
    ]
    newest, who = max(deps)
    rustc = version(subprocess.check_output(["rustc", "--version"], text=True).split()[1])
    shown = lambda v: ".".join(map(str, v[:2]))
    if declared < newest:
        sys.exit(f"check-msrv: rust-version {shown(declared)} is older than {who}'s {shown(newest)}")
    if declared > rustc:
        sys.exit(f"check-msrv: rust-version {shown(declared)} is newer than this rustc {shown(rustc)}")
    print(f"check-msrv: rust-version {shown(declared)} (newest dependency: {who} at {shown(newest)}; rustc {shown(rustc)})")


if __name__ == "__main__":
    main()
