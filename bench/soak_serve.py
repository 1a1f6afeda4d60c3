"""(g) A soak of ``sam-ext serve`` (its own process): N clients for S seconds, each in a
loop (upload, StartSigningJob, wait, CreateFunction of the signed object under an Enforce
code signing config, read the function's code back, delete the function and objects).
Prints the server's descriptors, threads and resident memory over time, the errors, and
requests per second in the first and last minute; then checks that every job has one
status (the API's is the keystore's on disk) with its signed object.

Run: .venv/bin/python bench/soak_serve.py [--clients 50] [--seconds 600] [--job-delay 0.2]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT / "tests"))

from common import machine, offline_aws, table  # noqa: E402

offline_aws(credentials=False)

from endpoint.serving import start_server  # noqa: E402
from endpoint.soak import Probe, Soak, keystore_jobs, leftovers, probe  # noqa: E402

RESULTS = Path(__file__).parent / "results"


def _row(t: float, p: Probe, requests: int, rate: float, errors: int) -> tuple[str, ...]:
    return (
        f"{t:.0f}",
        str(p.fds),
        str(p.index_fds),
        str(p.threads),
        f"{p.rss_kib / 1024:.1f}",
        str(requests),
        f"{rate:.1f}",
        str(errors),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--job-delay", type=float, default=0.2)
    parser.add_argument("--interval", type=float, default=10, help="seconds between samples")
    options = parser.parse_args()
    header = ("t s", "fds", "index fds", "threads", "RSS MiB", "requests", "req/s", "errors")
    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch) / "home"
        server = start_server(home, "--job-delay", str(options.job_delay))
        pid = server.process.pid
        try:
            soak = Soak(server.url, options.clients, "bench")
            for thread in soak.run(5):  # warm-up
                thread.join()
            time.sleep(2)
            base = probe(pid)
            load_start = os.getloadavg()
            print(f"load average at the start: {load_start}", flush=True)
            print(
                f"(g) soak of sam-ext serve, {options.clients} clients, {options.seconds:g} s, "
                f"--job-delay {options.job_delay}; {machine()}",
                flush=True,
            )
            print(
                "after warm-up: "
                + " ".join(
                    f"{h}={v}"
                    for h, v in zip(header[1:5], _row(0, base, 0, 0, 0)[1:5], strict=True)
                ),
                flush=True,
            )
            samples: list[dict[str, Any]] = []
            rows = [header]
            started = time.monotonic()
            threads = soak.run(options.seconds)
            marks = [(0.0, probe(pid).cpu_s, 0)]  # (t, server CPU s, requests) per sample
            last, tick = started, 0
            while any(t.is_alive() for t in threads):
                tick += 1  # samples on a fixed schedule: every interval from the start
                time.sleep(max(0.0, started + tick * options.interval - time.monotonic()))
                now = time.monotonic()
                p = probe(pid)
                rate = soak.tally.rate(last, now)
                requests = sum(1 for at, _ in soak.tally.requests if at >= started)
                row = _row(now - started, p, requests, rate, len(soak.tally.errors))
                print("  ".join(row), flush=True)
                rows.append(row)
                marks.append((now - started, p.cpu_s, requests))
                samples.append(
                    {
                        "t": now - started,
                        **p.__dict__,
                        "requests": requests,
                        "rate": rate,
                        "errors": len(soak.tally.errors),
                    }
                )
                last = now
            for thread in threads:
                thread.join()
            time.sleep(2)
            end = probe(pid)
            # The load is full until the deadline; then clients only finish an iteration.
            deadline = started + options.seconds
            minute = min(60.0, options.seconds / 2)
            first = soak.tally.rate(started, started + minute)
            final = soak.tally.rate(deadline - minute, deadline)
            # The server's CPU per request (what the machine's other load disturbs least),
            # over the samples of the first and of the last minute of full load.
            head = [m for m in marks if m[0] <= minute + 1]
            tail = [m for m in marks if options.seconds - minute - 1 <= m[0] <= options.seconds + 1]
            cpu_first = (head[-1][1] - head[0][1]) / max(head[-1][2] - head[0][2], 1) * 1000
            cpu_last = (tail[-1][1] - tail[0][1]) / max(tail[-1][2] - tail[0][2], 1) * 1000
            from endpoint.conftest import clients_for

            signer = clients_for(server.url)("signer")
            jobs = list(soak.tally.jobs)
            with ThreadPoolExecutor(16) as pool:
                api = dict(
                    pool.map(lambda j: (j, signer.describe_signing_job(jobId=j)["status"]), jobs)
                )
        finally:
            server.stop()
        disk = keystore_jobs(home)
        disagreeing = [j for j in jobs if disk[j]["status"] != api[j]]
        missing_objects = [
            j
            for j, row in disk.items()
            if row["status"] == "Succeeded" and not Path(row["signed_path"]).is_file()
        ]
        left = leftovers(home)
    print(table(rows))
    print(f"load average at the end: {os.getloadavg()}")
    summary = {
        "clients": options.clients,
        "seconds": options.seconds,
        "job_delay": options.job_delay,
        "machine": machine(),
        "load_average_start": load_start,
        "load_average_end": os.getloadavg(),
        "start": base.__dict__,
        "end": end.__dict__,
        "requests": len([1 for at, _ in soak.tally.requests if at >= started]),
        "errors": len(soak.tally.errors),
        "first_errors": soak.tally.errors[:10],
        "server_errors_5xx": soak.tally.server_errors(),
        "rate_first_minute": first,
        "rate_last_minute": final,
        "server_cpu_ms_per_request_first_minute": cpu_first,
        "server_cpu_ms_per_request_last_minute": cpu_last,
        "window_s": minute,
        "jobs": len(jobs),
        "jobs_not_succeeded": sum(1 for s in api.values() if s != "Succeeded"),
        "jobs_api_disk_disagree": len(disagreeing),
        "succeeded_without_object": len(missing_objects),
        "functions_deployed_code_is_signed_object": soak.tally.deployed,
        "leftovers": left,
        "samples": samples,
    }
    print(
        f"start (after warm-up): fds {base.fds} (index {base.index_fds}), threads "
        f"{base.threads}, RSS {base.rss_kib / 1024:.1f} MiB\n"
        f"end (load stopped):    fds {end.fds} (index {end.index_fds}), threads "
        f"{end.threads}, RSS {end.rss_kib / 1024:.1f} MiB\n"
        f"requests {summary['requests']}, errors {summary['errors']}, 5xx "
        f"{summary['server_errors_5xx']}; req/s first {minute:.0f} s {first:.1f}, last "
        f"{minute:.0f} s {final:.1f}; server CPU ms/request first {cpu_first:.2f}, last "
        f"{cpu_last:.2f}\n"
        f"jobs {len(jobs)} (not Succeeded {summary['jobs_not_succeeded']}, API/disk disagree "
        f"{len(disagreeing)}, Succeeded without object {len(missing_objects)}); functions "
        f"deployed with the signed object {soak.tally.deployed}; leftovers {len(left)}"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "soak_serve.json").write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
