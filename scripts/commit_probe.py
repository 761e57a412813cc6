#!/usr/bin/env python3
"""A concurrent writer for benchmarks: commits one row at a time into a table of its own and
reports the slowest commit, so a run can show how long a dump held the server's commits.

    commit_probe.py --socket S --db probe [--user root] --until-file F

Creates `<db>`.`commit_probe` if needed, then runs INSERTs (autocommit) through the stock
`mariadb` client until F exists, timing each one from sending it to its answer. Prints one
line: `commits=N max_ms=M p99_ms=P` and exits 0.
"""

import argparse
import os
import subprocess
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--socket", required=True)
    ap.add_argument("--user", default="root")
    ap.add_argument("--db", required=True)
    ap.add_argument("--until-file", required=True)
    ap.add_argument("--ready-file", help="created once the first commit returned")
    a = ap.parse_args()

    client = subprocess.Popen(
        ["mariadb", "--no-defaults", "-S", a.socket, "-u", a.user,
         "--batch", "--skip-column-names", "--unbuffered"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

    def ask(sql: str) -> str:
        client.stdin.write(sql + "\nSELECT 'probe-ok';\n")
        client.stdin.flush()
        while True:
            line = client.stdout.readline()
            if not line:
                raise SystemExit("commit_probe: the client exited")
            if line.strip() == "probe-ok":
                return line

    ask(f"CREATE DATABASE IF NOT EXISTS `{a.db}`; "
        f"CREATE TABLE IF NOT EXISTS `{a.db}`.commit_probe "
        "(id BIGINT AUTO_INCREMENT PRIMARY KEY, at DATETIME(6)) ENGINE=InnoDB;")
    latencies = []
    while not os.path.exists(a.until_file):
        t0 = time.monotonic()
        ask(f"INSERT INTO `{a.db}`.commit_probe (at) VALUES (NOW(6));")
        latencies.append((time.monotonic() - t0) * 1000.0)
        if a.ready_file and len(latencies) == 1:
            open(a.ready_file, "w").close()
    client.stdin.close()
    client.wait()
    latencies.sort()
    n = len(latencies)
    p99 = latencies[min(n - 1, int(n * 0.99))] if n else 0.0
    print(f"commits={n} max_ms={latencies[-1] if n else 0.0:.0f} p99_ms={p99:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
