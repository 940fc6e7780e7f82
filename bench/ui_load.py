"""Does the UI slow training? Images/second of the headless CLI versus `streamlit run app.py` with 1 and 10
browser tabs polling the Train page (Debian chromium via Playwright), measured alternately. Prints a table.

    python bench/ui_load.py --seconds 60 --tabs 1 10
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "e2e"))

from gan_core.checkpoints import latest_valid_checkpoint  # noqa: E402
from streamlit_server import StreamlitServer  # noqa: E402

PRESET = "shapes-default"  # what the Home page's button trains
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def throughput(run_dir: Path, warmup_s: float) -> float:
    """Median images/second of a run's logged intervals after the first warmup_s seconds of training."""
    found = latest_valid_checkpoint(run_dir)
    if found is None:
        raise RuntimeError(f"no checkpoint in {run_dir}")
    rates = [h["img/s"] for h in found[1]["history"] if "img/s" in h and h["time"] >= warmup_s]
    return statistics.median(rates)


def cli_run(seconds: float, warmup_s: float, root: Path, k: int) -> float:
    out = root / f"cli-{k}"
    subprocess.run([sys.executable, "-m", "gan_core", "train", "--preset", PRESET, "--max-seconds", str(seconds),
                    "--out", str(out)], cwd=REPO, check=True, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    return throughput(out, warmup_s)


def ui_run(seconds: float, warmup_s: float, tabs: int, root: Path, k: int) -> tuple[float, int]:
    """Train from the Home page's button with `tabs` tabs on the Train page; returns (img/s, health failures)."""
    from playwright.sync_api import sync_playwright

    ck = root / f"ui-{k}"
    server = StreamlitServer(root / f"server-{k}.log", {"GAN_WORKBENCH_CHECKPOINTS": str(ck),
                                                        "GAN_WORKBENCH_DATA": str(root / "data")})
    server.start()
    unhealthy = 0
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
            first = browser.new_page()
            first.set_default_timeout(120_000)
            first.goto(server.url + "/")
            first.get_by_role("button", name="Train the default GAN on shapes").click()
            first.wait_for_url(re.compile(r"/Train$"))
            pages = [first]
            for _ in range(tabs - 1):
                p = browser.new_page()
                p.goto(server.url + "/Train")
                pages.append(p)
            deadline = time.monotonic() + 120
            while not (ck.is_dir() and any(ck.iterdir())) and time.monotonic() < deadline:
                time.sleep(0.5)  # the run folder appears once the thread has loaded the data set
            run = next(ck.iterdir())
            end = time.monotonic() + seconds + 15  # loading the data set and the first steps come first
            while time.monotonic() < end:
                meta = json.loads((run / "meta.json").read_text()) if (run / "meta.json").exists() else {}
                if meta.get("train_seconds", 0) >= seconds:
                    break
                try:
                    urllib.request.urlopen(server.url + "/_stcore/health", timeout=5).read()
                except OSError:
                    unhealthy += 1
                time.sleep(2)
            pages[-1].get_by_role("button", name="Stop", exact=True).click()  # any tab can stop it
            deadline = time.monotonic() + 60
            while json.loads((run / "meta.json").read_text()).get("status") != "stopped" and time.monotonic() < deadline:
                time.sleep(0.5)
            browser.close()
        return throughput(run, warmup_s), unhealthy
    finally:
        server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60, help="training seconds per measurement")
    ap.add_argument("--warmup", type=float, default=10, help="seconds of each run left out of the median")
    ap.add_argument("--tabs", type=int, nargs="+", default=[1, 10])
    ap.add_argument("--rounds", type=int, default=1)
    a = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="ui_load_"))
    cli: list[float] = []
    ui: dict[int, list[float]] = {n: [] for n in a.tabs}
    failures = 0
    k = 0
    for _ in range(a.rounds):  # CLI and UI alternate so drifting machine load hits both
        for n in a.tabs:
            cli.append(cli_run(a.seconds, a.warmup, root, k))
            rate, bad = ui_run(a.seconds, a.warmup, n, root, k)
            ui[n].append(rate)
            failures += bad
            k += 1
            print(f"round {k}: CLI {cli[-1]:,.0f} img/s, UI with {n} tab(s) {rate:,.0f} img/s", flush=True)
    base = statistics.median(cli)
    print(f"\n{PRESET}, {a.seconds:.0f} s of training per measurement; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}\n")
    print("| mode | img/s (median) | vs CLI |\n| --- | ---: | ---: |")
    print(f"| headless CLI | {base:,.0f} | 100% |")
    for n, rates in ui.items():
        m = statistics.median(rates)
        print(f"| app, {n} tab(s) on Train | {m:,.0f} | {m / base:.0%} |")
    print(f"\nhealth-check failures during UI runs: {failures}")


if __name__ == "__main__":
    main()
