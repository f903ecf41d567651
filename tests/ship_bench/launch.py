"""Issue 16's launch time, measured in the real release app as a user meets it: the
binary started directly (no WebDriver), timed from the spawn to the app's log line
`launch: painted` (the License view's status drawn and the frame after it done), for a
new user (fresh data folder, so the local server creates its database) and then for the
same user again (the database there). Each launch is split by the app's own log lines,
counted from the process's start: run() begun, setup (GTK initialised), window created, page started and loaded,
connection open (the local server), painted.

Run inside Xvfb and a D-Bus session with an unlocked keyring (scripts/bench-ship does):
    python3 tests/ship_bench/launch.py APP LAUNCHES
One launch before them is not counted (see main). A recorded run, not a test:
scripts/test never runs it.
"""

import os
import re
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time

STEPS = ["run", "setup", "window created", "page started", "page loaded", "connection open", "painted"]
LINE = re.compile(r"launch: (?P<step>[a-z ()]+?)\s+since_start_ms=(?P<ms>\d+)")
COLOURS = re.compile(r"\x1b\[[0-9;]*m")


def launch(app, data_dir, timeout=60.0):
    """Starts the app, returns (ms from spawn to `launch: painted`, {step: ms since start})."""
    env = dict(os.environ, LICENTRIC_DATA_DIR=data_dir, NO_AT_BRIDGE="1")
    started = time.perf_counter()
    proc = subprocess.Popen([app], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    steps, buffered, wall = {}, b"", None
    try:
        while wall is None:
            left = timeout - (time.perf_counter() - started)
            if left <= 0:
                raise SystemExit(f"no `launch: painted` within {timeout:.0f} s; log so far:\n"
                                 + buffered.decode(errors="replace"))
            ready, _, _ = select.select([proc.stderr], [], [], left)
            if not ready:
                continue
            chunk = os.read(proc.stderr.fileno(), 65536)
            if not chunk:
                raise SystemExit(f"the app exited ({proc.wait()}) before painting:\n"
                                 + buffered.decode(errors="replace"))
            now = time.perf_counter()
            buffered += chunk
            for match in LINE.finditer(COLOURS.sub("", buffered.decode(errors="replace"))):
                steps.setdefault(match["step"], int(match["ms"]))
            if "painted" in steps:
                wall = (now - started) * 1000
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return wall, steps


def report(label, runs):
    walls = sorted(wall for wall, _ in runs)
    print(f"{label}: median {statistics.median(walls):.0f} ms from spawn to painted "
          f"(best {walls[0]:.0f}, worst {walls[-1]:.0f}; {len(walls)} launches)")
    medians = []
    for step in STEPS:
        values = [steps[step] for _, steps in runs if step in steps]
        medians.append(f"{step} {statistics.median(values):.0f}" if values else f"{step} ?")
    print(f"  median ms since process start: {', '.join(medians)}")


def main():
    app, launches = sys.argv[1], int(sys.argv[2])
    first, again = [], []
    # One launch first, not counted: it reads the binary and WebKit's libraries into the
    # page cache and starts the session's accessibility bus (WebKit asks for it), as a
    # desktop session has them when a user starts the app.
    with tempfile.TemporaryDirectory(prefix="licentric-launch-") as data_dir:
        wall, _ = launch(app, data_dir)
        print(f"warm-up launch (not counted): {wall:.0f} ms from spawn")
    for n in range(launches):
        with tempfile.TemporaryDirectory(prefix="licentric-launch-") as data_dir:
            first.append(launch(app, data_dir))
            time.sleep(1)
            again.append(launch(app, data_dir))
            time.sleep(1)
        for label, (wall, steps) in (("new user", first[-1]), ("same user", again[-1])):
            split = ", ".join(f"{s} {steps.get(s, '?')}" for s in STEPS)
            print(f"launch {n} ({label}): {wall:.0f} ms from spawn; ms since process start: {split}")
    report("launch, new user (fresh data folder)", first)
    report("launch, same user again (its database there)", again)


if __name__ == "__main__":
    main()
