"""Does the UI slow training? Images/second of the headless CLI against `streamlit run app.py` training the same
preset while N "tabs" poll the Train page, measured alternately. Prints a table.

Tabs come in two kinds, so the server's cost and the browser's can be told apart:
- `ws`: protocol clients (tests/e2e/st_client.py) that rerun the Train page's fragments at their intervals and fetch
  each new grid image, as a browser does, but draw nothing: the load on the server alone.
- `chromium`: real headless chromium pages (Playwright), which also lay out and draw every update.

    python bench/ui_load.py --seconds 60 --modes server ws:1 ws:10 chromium:1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "e2e"))

from machine import cpu_name  # noqa: E402
from st_client import StreamlitTab, press  # noqa: E402
from streamlit_server import StreamlitServer  # noqa: E402

from gan_core.runs.checkpoints import latest_valid_checkpoint  # noqa: E402

PRESET = "shapes-default"  # the default recipe of the Train page on the embedded data set (as the Home button)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
MODE_NAMES = {"server": "app, no tab open", "ws": "app, {n} protocol tab(s) polling Train",
              "chromium": "app, {n} chromium tab(s) on Train"}


def throughput(run_dir: Path, warmup_s: float) -> float:
    """Median images/second of a run's logged intervals after the first warmup_s seconds of training."""
    found = latest_valid_checkpoint(run_dir)
    if found is None:
        raise RuntimeError(f"no checkpoint in {run_dir}")
    rates = [h["img/s"] for h in found[1]["history"] if "img/s" in h]
    late = [h["img/s"] for h in found[1]["history"] if "img/s" in h and h["time"] >= warmup_s]
    return statistics.median(late or rates)  # a stalled run may never get past the warm-up


def cli_run(seconds: float, warmup_s: float, root: Path, k: int) -> float:
    out = root / f"cli-{k}"
    subprocess.run([sys.executable, "-m", "gan_core", "train", "--preset", PRESET, "--max-seconds", str(seconds),
                    "--out", str(out)], cwd=REPO, check=True, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    return throughput(out, warmup_s)


async def _trained(ck: Path, seconds: float, timeout: float = 180.0) -> Path:
    """Wait for the run folder under ck, then `seconds` of wall time (the run trains meanwhile); returns it."""
    deadline = time.monotonic() + timeout
    while not (ck.is_dir() and any(ck.iterdir())):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no run folder appeared in {ck} within {timeout:.0f} s")
        await asyncio.sleep(0.5)
    await asyncio.sleep(seconds)
    return next(ck.iterdir())


async def _app_session(url: str, ck: Path, seconds: float, kind: str, tabs: int) -> tuple[Path, int]:
    """Start the run from the Train page, keep `tabs` tabs of `kind` on it until it has trained `seconds`, stop it.
    Returns (run folder, fragment reruns served)."""
    await press(url, "Train", "Start")
    clients = [StreamlitTab(url, "Train") for _ in range(tabs if kind == "ws" else 0)]
    for c in clients:
        await c.open()
    browser = pages = None
    if kind == "chromium":
        from playwright.async_api import async_playwright

        pw = await async_playwright().start()
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        pages = [await browser.new_page() for _ in range(tabs)]
        for p in pages:
            await p.goto(url + "/Train")
    waiting = asyncio.create_task(_trained(ck, seconds))
    polling = [asyncio.create_task(c.poll(seconds + 200)) for c in clients]
    run = await waiting
    for task in polling:
        task.cancel()
    served = sum(c.state.fragment_runs for c in clients)
    for c in clients:
        await c.close()
    if browser is not None:
        await browser.close()
        await pw.stop()
    await press(url, "Train", "Stop")  # any session can stop the run
    return run, served


def app_run(seconds: float, warmup_s: float, kind: str, tabs: int, root: Path, k: int) -> tuple[float, int]:
    """Train in a fresh `streamlit run app.py` server; returns (img/s, fragment reruns served to ws tabs)."""
    ck = root / f"app-{k}"
    server = StreamlitServer(root / f"server-{k}.log", {"GAN_WORKBENCH_CHECKPOINTS": str(ck),
                                                        "GAN_WORKBENCH_DATA": str(root / "data")})
    server.start()
    try:
        run, served = asyncio.run(_app_session(server.url, ck, seconds, kind, tabs))
        deadline = time.monotonic() + 60
        while json.loads((run / "meta.json").read_text()).get("status") != "stopped" and time.monotonic() < deadline:
            time.sleep(0.5)
        return throughput(run, warmup_s), served
    finally:
        server.stop()


def parse_mode(text: str) -> tuple[str, int]:
    kind, _, n = text.partition(":")
    if kind not in MODE_NAMES or (kind != "server" and not n.isdigit()):
        raise argparse.ArgumentTypeError(f"mode '{text}': use server, ws:N or chromium:N")
    return kind, int(n or 0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60,
                    help="per measurement: seconds of training (CLI), of wall time after the start (app)")
    ap.add_argument("--warmup", type=float, default=10, help="seconds of each run left out of the median")
    ap.add_argument("--modes", type=parse_mode, nargs="+", default=[("server", 0), ("ws", 1), ("ws", 10),
                                                                    ("chromium", 1)])
    ap.add_argument("--rounds", type=int, default=1)
    a = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="ui_load_"))
    cli: list[float] = []
    ratios: dict[tuple[str, int], list[float]] = {m: [] for m in a.modes}  # app / the CLI run just before it
    app: dict[tuple[str, int], list[float]] = {m: [] for m in a.modes}
    k = 0
    for _ in range(a.rounds):  # a CLI run before every app run: each app figure has a partner measured just before
        for kind, n in a.modes:
            cli.append(cli_run(a.seconds, a.warmup, root, k))
            rate, served = app_run(a.seconds, a.warmup, kind, n, root, k)
            app[(kind, n)].append(rate)
            ratios[(kind, n)].append(rate / cli[-1])
            k += 1
            extra = f", {served / a.seconds:.1f} fragment reruns/s served" if kind == "ws" else ""
            print(f"round {k}: CLI {cli[-1]:,.0f} img/s, {MODE_NAMES[kind].format(n=n)} {rate:,.0f} img/s{extra}",
                  flush=True)
    print(f"\n{PRESET}, {a.seconds:.0f} s per measurement, {a.rounds} round(s); {cpu_name()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; load average {os.getloadavg()[0]:.2f}\n")
    print("| mode | img/s (median) | vs the CLI run before it: min / median / max |\n| --- | ---: | ---: |")
    print(f"| headless CLI | {statistics.median(cli):,.0f} | 100% |")
    for mode, rates in app.items():
        r = ratios[mode]
        print(f"| {MODE_NAMES[mode[0]].format(n=mode[1])} | {statistics.median(rates):,.0f} | "
              f"{min(r):.0%} / **{statistics.median(r):.0%}** / {max(r):.0%} |")

if __name__ == "__main__":
    main()
