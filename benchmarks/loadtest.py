"""A bounded load test of the page: N concurrent browser sessions against one ``streamlit run app.py``.

    python -m benchmarks.loadtest [--sessions 20] [--seconds 300] [--rounds 1]
    python -m benchmarks.loadtest --minutes 30 [--sessions 8]     # the soak: waves until the time is up

It starts the server itself on 127.0.0.1 (a free port; loopback only), opens N contexts in one headless
Debian Chromium (Playwright), and has each open ``/?text=<its own sentence>`` (some with ``&model=sst2-rnn``),
and, where the page has the intervention widgets, switch one on. Each session reads the P(positive) metrics
and the prediction chart's numbers from its page; they must equal a sequential ``load_model(...).trace(...)``
of the same sentence and clamps in this process (metrics as the page rounds them, chart values exactly).
It records errors (timeouts, exception boxes on the page, tracebacks in the server log), wall times, CPU
time, and the server's resident memory (the process and its children, from /proc) at start, at its peak
and after each wave (``--rounds``: waves of new sentences; memory that keeps growing would be a leak).
The whole run stops by itself within ``--seconds`` (sessions still open then count as errors), and the
server is always killed. Exit status 0 when every session matched and nothing failed.

The soak (``--minutes``) runs waves of ``--sessions`` new sessions until the minutes are up, each wave with new
sentences, and models (the GRU, the no-reset GRU where it ships, the RNN) and interventions in rotation. After
each wave it counts the server's resident memory, open file descriptors (/proc/<pid>/fd) and threads
(/proc/<pid>/task). It passes (``verdict``) when every session matched its sequential trace, nothing failed, the
memory after every wave lies within ±10% of the second wave's (the first fills the caches), and the floor of the
descriptors and threads does not rise: the fewest counted over the last third of the waves exceed the fewest over
the second wave to the end of the first third by no more than ``FD_SLACK`` / ``THREAD_SLACK`` (each wave's count
is the fewest during the wave, so that a pool's idle threads and closing sockets do not count; see
``Report.leaks``).

The browser, not the server, is the heavy part: a session costs Chromium about 5 CPU seconds and the server
under 1 (20 sessions: 108 s and 17 s), so on 2 shared cores 20 sessions take 1–3 minutes (146 s).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from benchmarks.browser import CHROMIUM_LAUNCH, ROOT, StreamlitServer, require_chromium

MEMORY_BAND = 0.10  # the soak's memory after each wave may differ from the second wave's by this fraction
FD_SLACK, THREAD_SLACK = 8, 4  # descriptors and threads still closing when a wave's count is taken
WAVE_SECONDS = 300  # a soak's wave that has not finished by then counts its open sessions as errors
REREAD_MS = 1000  # a page read with a number missing is read again this long after, once Streamlit is idle
TABLE_ROWS = 40  # a longer run lists only the sessions that did not match
# A wave's descriptors and threads are the fewest counted (every 0.25 s) from its start to SETTLE_SECONDS after its
# end. The server's worker threads (anyio's pool, up to 40) stay after a wave and are pruned only when the next
# request finds them idle for 10 s, so a count taken after a wave swings with its concurrency (11 … 36 in one soak);
# a leaked thread or descriptor stays through the dip at the next wave's start.
SETTLE_SECONDS = 3
# Streamlit keeps a closed tab's session 120 s for a reconnect (server.disconnectedSessionTTL), and drops it when
# a later session is stored. 10 s: each wave's connections drop the previous wave's sessions, so every count after
# a wave holds one wave's closed sessions, not a number that grows with the pace of the waves.
SESSION_TTL = 10
POLL_MS = 200  # page checks every 200 ms: Playwright's default (every animation frame) costs CPU × N pages
PAGE_MAX_TOKENS = 300  # app.PAGE_MAX_TOKENS: the page reads at most this many words (app.py is not imported)
INTERVENTIONS = {  # the page's radio options, and the clamps they mean (analysis.CLAMP_MODES), written out
    "vanilla-RNN mode": {"clamp_update": 0.0, "clamp_reset": 1.0},
    "frozen memory": {"clamp_update": 1.0},
}
SENTENCES = [
    "I love this movie so much", "But the movie is really boring", "a gorgeous , witty , seductive movie .",
    "the plot is thin but the acting is superb", "not bad at all , actually quite good",
    "I did n't like it , and I did n't hate it", "an utterly charming and hilarious film",
    "the worst film of the year , dull and lifeless", "<b>bold</b> claims , **weak** delivery",
    "it 's a masterpiece 👩‍👩‍👧 of quiet beauty", "مرحبا the story drags on and on", "a fun ride , if forgettable",
    "never have I been so bored in a cinema", "the cast is wonderful and the script is sharp",
    "<script>alert(1)</script> a total mess", "funny , moving and beautifully shot",
    "it wants to be profound but is merely pretentious", "a triumph", "painfully slow and badly written",
    "the ending is strong , the rest is weak", "warm , wise and wonderfully acted", "I want my two hours back",
]


@dataclass(frozen=True)
class Session:
    """One simulated user: a sentence, a model folder, and an intervention mode (None: none)."""

    index: int
    text: str
    model: str = "sst2-gru"
    intervention: str | None = None

    def path(self) -> str:
        """The page this user opens: *Read a sentence*, or *Compare & intervene* to force a gate."""
        query = {"text": self.text} | ({"model": self.model} if self.model != "sst2-gru" else {})
        return ("/compare?" if self.intervention else "/?") + urlencode(query)


@dataclass
class Result:
    session: Session
    expected: dict  # metric label → the text the page should show; "chart" → the exact values
    shown: dict = field(default_factory=dict)
    errors: list = field(default_factory=list)
    seconds: float = float("nan")
    first_read: dict | None = None  # what an earlier read found missing, when the page was read a second time

    @property
    def ok(self) -> bool:
        """Every number shown and equal to the sequential trace's, and none an earlier read saw different: a read
        may only have come too early (a value not on the page yet), never have seen a wrong number."""
        return not self.errors and self.matches(self.shown) and not self.wrong(self.first_read or {})

    def matches(self, shown: dict) -> bool:
        return all(shown.get(k) == v for k, v in self.expected.items())

    def wrong(self, shown: dict) -> list[str]:
        """The keys ``shown`` holds a value for that differs from the sequential trace's."""
        return [k for k, v in self.expected.items() if shown.get(k) is not None and shown.get(k) != v]

    def details(self) -> list[str]:
        """What differed, one line each (empty when it matched on the first read)."""
        lines = [f"error: {error}" for error in self.errors]
        if self.first_read is not None:
            missing = [k for k in self.expected if self.first_read.get(k) is None]
            lines.append(f"read twice: the first read found {', '.join(missing) or 'nothing'} missing"
                         + (f" and {', '.join(self.wrong(self.first_read))} different" if self.wrong(self.first_read)
                            else ""))
            lines += [f"first read {k}: page {_short(self.first_read.get(k))} ≠ sequential {_short(v)}"
                      for k, v in self.expected.items() if self.first_read.get(k) != v]
        lines += [f"{k}: page {_short(self.shown.get(k))} ≠ sequential {_short(v)}"
                  for k, v in self.expected.items() if self.shown.get(k) != v]
        return lines


@dataclass
class Report:
    results: list
    rss: dict  # "start", "peak", "after wave k": bytes of the server and its children
    cpu: dict  # "server", "browser": CPU seconds used during the sessions
    seconds: float
    server_errors: list
    notes: list
    waves: list = field(default_factory=list)  # per wave: sessions, matched, seconds, rss, fds, threads

    @property
    def ok(self) -> bool:
        return not self.server_errors and all(r.ok for r in self.results) and not self.leaks()

    def leaks(self) -> list[str]:
        """What grew from the second wave on: memory outside ±``MEMORY_BAND`` of the second wave's after any wave;
        descriptors or threads whose floor rose, i.e. the fewest counted over the last third of the waves exceed
        the fewest over the second wave to the end of the first third by more than ``FD_SLACK`` /
        ``THREAD_SLACK``. Empty with fewer than three waves.

        The floor, not the last wave against the second: a wave's count swings with how many sessions are still
        open when it is taken (each open session holds an event loop's three descriptors, and the server's thread
        pool grows with concurrency), so a single wave's count is as much the pace of the waves as the server;
        what a leak cannot do is let the count come back down."""
        if len(self.waves) < 3:
            return []
        second = self.waves[1]
        found = [f"memory after wave {w['wave']} is {w['rss'] / 2**20:.0f} MiB, "
                 f"{w['rss'] / second['rss'] - 1:+.0%} of the second wave's {second['rss'] / 2**20:.0f} MiB"
                 for w in self.waves[1:] if abs(w["rss"] / second["rss"] - 1) > MEMORY_BAND]
        third = max(len(self.waves) // 3, 1)
        early, late = self.waves[1:max(third, 2)], self.waves[-third:]
        for name, slack in (("fds", FD_SLACK), ("threads", THREAD_SLACK)):
            floor_early, floor_late = min(w[name] for w in early), min(w[name] for w in late)
            if floor_late > floor_early + slack:
                found.append(f"{name}: at least {floor_late} over the last {len(late)} waves, against at least "
                             f"{floor_early} from the second wave on")
        return found

    def verdict(self) -> str:
        """One line: PASS, or FAIL and why."""
        reasons = ([f"{sum(not r.ok for r in self.results)} of {len(self.results)} sessions did not match"]
                   if not all(r.ok for r in self.results) else [])
        reasons += ([f"{len(self.server_errors)} server errors"] if self.server_errors else []) + self.leaks()
        return "PASS" if not reasons else "FAIL: " + "; ".join(reasons)

    def table(self) -> str:
        lines = [f"{'#':>3} {'model':<17}{'intervention':<17}{'P free':>7}{'P clamp':>8}{'chart':>7}{'secs':>6}  "
                 f"{'ok':<3}sentence"]
        shown = (self.results if len(self.results) <= TABLE_ROWS else
                 [r for r in self.results if not r.ok or r.first_read is not None])
        if len(shown) < len(self.results):
            lines.append(f"(a long run: only the {len(shown)} sessions that did not match or were read twice are "
                         f"listed)")
        for r in shown:
            s = r.session
            charts = [k for k in ("chart", "clamped chart") if k in r.expected]
            chart = "-" if not r.shown.get("chart") else (
                "exact" if all(r.shown.get(k) == r.expected[k] for k in charts) else "DIFF")
            lines.append(f"{s.index:>3} {s.model or 'default':<17}{s.intervention or '-':<17}"
                         f"{_text(r.shown.get('P(positive)'), '?'):>7}{_text(r.shown.get('P(positive), clamped')):>8}"
                         f"{chart:>7}{r.seconds:>6.1f}  {'yes' if r.ok else 'NO':<3}{s.text[:40]!r}")
            lines += [f"     {line}" for line in r.details()]
        times = sorted(r.seconds for r in self.results if r.seconds == r.seconds)
        lines.append(f"sessions {len(self.results)}, matched {sum(r.ok for r in self.results)} (read twice "
                     f"{sum(r.first_read is not None for r in self.results)}), errors "
                     f"{sum(bool(r.errors) for r in self.results)}, server errors {len(self.server_errors)}; "
                     f"wall {self.seconds:.1f} s; session time median {times[len(times) // 2] if times else 0:.1f} s, "
                     f"max {max(times, default=0):.1f} s")
        memory = ", ".join(f"{k} {v / 2**20:.0f} MiB" for k, v in self.rss.items())
        lines.append(f"server RSS (with children): {memory}; CPU during the sessions: server "
                     f"{self.cpu['server']:.1f} s, browser {self.cpu['browser']:.1f} s")
        lines += [f"server: {error}" for error in self.server_errors] + [f"note: {note}" for note in self.notes]
        lines += [f"wave {w['wave']:>2}: {w['sessions']} sessions, {w['matched']} matched, {w['seconds']:5.1f} s; "
                  f"server RSS {w['rss'] / 2**20:.0f} MiB, {w['fds']} fds, {w['threads']} threads"
                  for w in self.waves]
        if len(self.waves) >= 3:
            second = self.waves[1]
            spread = [w["rss"] / second["rss"] - 1 for w in self.waves[1:]]
            counts = "; ".join(f"{name} {min(w[name] for w in self.waves[1:])}–{max(w[name] for w in self.waves[1:])}"
                               for name in ("fds", "threads"))
            lines.append(f"memory from the second wave on: {min(spread):+.1%} … {max(spread):+.1%} of the second "
                         f"wave's (band ±{MEMORY_BAND:.0%}); from the second wave on {counts}")
        lines.append(f"verdict: {self.verdict()}")
        return "\n".join(lines)


def _text(value, missing: str = "-") -> str:
    return missing if value is None else str(value)


def _short(value) -> str:
    return repr(value) if not isinstance(value, list) or len(value) <= 3 else f"[{value[0]!r}, … {len(value)} values]"


def plan(sessions: int, models=("sst2-gru", "sst2-rnn"), start: int = 0) -> list[Session]:
    """Sessions ``start`` … ``start + sessions - 1``: different sentences (numbered past the pool); every 5th
    session on the RNN, every 10th (from the 3rd) on the no-reset GRU when ``models`` has it; GRU sessions
    cycle through no intervention and each intervention mode."""
    modes = [None, *INTERVENTIONS]
    planned = []
    for i in range(start, start + sessions):
        text = SENTENCES[i % len(SENTENCES)] + (f" ( take {i // len(SENTENCES) + 1} )" if i >= len(SENTENCES) else "")
        model = ("sst2-rnn" if i % 5 == 4 else
                 "sst2-gru-noreset" if i % 10 == 2 and "sst2-gru-noreset" in models else "sst2-gru")
        planned.append(Session(i, text, model, None if model == "sst2-rnn" else modes[i % len(modes)]))
    return planned


def expected_numbers(sessions: list[Session], models_dir: Path, models: dict | None = None) -> dict[int, dict]:
    """What each session's page must show, from sequential traces in this process (``models``: loaded models
    by name, filled as needed, so a soak loads each once)."""
    from gru_viz.model import load_model
    from views.parts.startup import server_threads

    server_threads()  # the server's torch threads: float32 sums split over other threads differ in the last bit
    models = {} if models is None else models
    expected = {}
    for s in sessions:
        if s.model not in models:
            models[s.model] = load_model(models_dir / s.model)
        model = models[s.model]
        free = model.trace(s.text, max_tokens=PAGE_MAX_TOKENS).probability
        # the read page states the verdict's P to 2 decimals; the compare page's metrics to 3
        numbers = {"P(positive)": f"{free[-1]:.{3 if s.intervention else 2}f}", "chart": [float(p) for p in free]}
        if s.intervention:
            clamped = model.trace(s.text, max_tokens=PAGE_MAX_TOKENS, **INTERVENTIONS[s.intervention]).probability
            numbers["P(positive), clamped"] = f"{clamped[-1]:.3f}"
            numbers["clamped chart"] = [float(p) for p in clamped]
        expected[s.index] = numbers
    return expected


def _tree(pid: int) -> list[int]:
    """``pid`` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, stack = [], [pid]
    while stack:
        found.append(stack.pop())
        stack += children.get(found[-1], [])
    return found


def tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants (0 once it is gone)."""
    total = 0
    for current in _tree(pid):
        try:
            match = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{current}/status").read_text())
        except OSError:
            continue
        total += int(match.group(1)) * 1024 if match else 0
    return total


def tree_cpu(pid: int, exclude: int | None = None) -> float:
    """CPU seconds (user + system) used so far by ``pid`` and its live descendants, without ``exclude``'s."""
    skipped = set(_tree(exclude)) if exclude else set()
    total = 0
    for current in _tree(pid):
        if current in skipped:
            continue
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def open_fds(pid: int) -> int:
    """Open file descriptors of ``pid`` (not its children), from /proc/<pid>/fd; 0 once it is gone."""
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def thread_count(pid: int) -> int:
    """Threads of ``pid``, from /proc/<pid>/task; 0 once it is gone."""
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return 0


_RUNNING: list[StreamlitServer] = []  # for the watchdog: servers to kill if the run has to be cut short


_IDLE = """() => !document.querySelector('[data-testid="stStatusWidget"]')
                 && !document.querySelector('[data-stale="true"]')"""
_READ = """(keys) => {
    const metrics = {};
    for (const m of document.querySelectorAll('[data-testid="stMetric"]')) {
        const label = m.querySelector('[data-testid="stMetricLabel"]');
        const value = m.querySelector('[data-testid="stMetricValue"]');
        if (label && value) metrics[label.innerText.trim()] = value.innerText.trim();
    }
    const chart = (key, index) => {
        const plot = document.querySelector('.st-key-' + key + ' .js-plotly-plot');
        // _fullData holds the decoded arrays (data keeps Plotly's {dtype, bdata} form as sent)
        const trace = plot && plot._fullData && plot._fullData.find(t => t.index === index);
        return trace ? Array.from(trace.y) : null;
    };
    // the Read page's story is Vega-Lite: its SVG circles carry their data rows (Vega binds each to its element)
    const story = () => {
        const first = document.querySelector('[data-testid="stVegaLiteChart"]');  // the P(positive) row
        const circles = first ? [...first.querySelectorAll('g.layer_2_marks path')] : [];
        const rows = circles.map(c => c.__data__ && c.__data__.datum).filter(row => row && 'p' in row);
        return rows.length ? rows.sort((a, b) => a.key < b.key ? -1 : 1).map(row => row.p) : null;
    };
    return {metrics, chart: keys[0] === 'story' ? story() : chart(keys[0], 0), clamped: chart(keys[1], 1),
            exceptions: document.querySelectorAll('[data-testid="stException"]').length,
            radio: !!document.querySelector('.st-key-intervention_mode')};
}"""


def _shown(seen: dict, intervention: bool) -> dict:
    """The numbers a read of the page (``_READ``) found, under the keys ``expected_numbers`` gives."""
    if not intervention:
        verdict = next((label for label in seen["metrics"] if "P(positive) =" in label), "")
        chart = seen["chart"][1:] if seen["chart"] is not None else None  # drop h0's point: compare the words
        return {"P(positive)": verdict.rpartition("= ")[2] or None, "chart": chart}
    return {"P(positive)": seen["metrics"].get("P(positive), free"), "chart": seen["chart"],
            "P(positive), clamped": seen["metrics"].get("P(positive), forced"), "clamped chart": seen["clamped"]}


async def _read(page, result: Result, keys: list[str]) -> dict:
    """Read the page; when a number is not on it yet (a chart still drawing, a metric being replaced), wait until
    Streamlit is idle again and read once more. A second read never excuses a wrong number (``Result.ok``)."""
    intervention = bool(result.session.intervention)
    seen = await page.evaluate(_READ, keys)
    shown = _shown(seen, intervention)
    if not result.matches(shown) and not seen["exceptions"]:
        result.first_read = shown
        await page.wait_for_timeout(REREAD_MS)
        await page.wait_for_function(_IDLE, polling=POLL_MS)
        seen = await page.evaluate(_READ, keys)
        shown = _shown(seen, intervention)
    result.shown.update(shown)
    return seen


async def _drive(browser, base: str, session: Session, result: Result, timeout_ms: float) -> None:
    start = time.monotonic()
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(timeout_ms)
    try:
        page = await context.new_page()
        await page.goto(base + session.path())
        if not session.intervention:  # Read a sentence: the verdict and the story chart (it starts at h0)
            await page.wait_for_function("""() => [...document.querySelectorAll('[data-testid="stMetricLabel"]')]
                                                 .some(l => l.innerText.includes('P(positive) ='))""", polling=POLL_MS)
            await page.wait_for_selector('[data-testid="stVegaLiteChart"] svg.marks')
            await page.wait_for_function(_IDLE, polling=POLL_MS)
            seen = await _read(page, result, ["story", "story"])
        elif await page.locator(".st-key-intervention_mode").count() or await _wait_for_radio(page):
            await page.locator(".st-key-intervention_mode label").filter(has_text=session.intervention).click()
            await page.wait_for_function("""() => [...document.querySelectorAll('[data-testid="stMetricLabel"]')]
                                                 .some(l => l.innerText.trim() === 'P(positive), forced')""",
                                         polling=POLL_MS)
            await page.wait_for_selector(".st-key-chart_intervention_probability .js-plotly-plot")
            await page.wait_for_function(_IDLE, polling=POLL_MS)
            seen = await _read(page, result, ["chart_intervention_probability", "chart_intervention_probability"])
        else:
            seen = {"exceptions": 0}
            result.errors.append("the page has no intervention widgets")
        if seen["exceptions"]:
            result.errors.append(f"{seen['exceptions']} exception box(es) on the page")
    except asyncio.CancelledError:
        result.errors.append("still running at the time limit")
        raise
    except Exception as error:  # a timeout or a closed page is this session's error, not the run's
        result.errors.append(f"{type(error).__name__}: {str(error).splitlines()[0][:160]}")
    finally:
        result.seconds = time.monotonic() - start
        await context.close()


async def _wait_for_radio(page) -> bool:
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    try:
        await page.wait_for_selector(".st-key-intervention_mode")
    except PlaywrightTimeout:  # this page has no intervention widgets
        return False
    return True


async def _drive_all(sessions, results, base: str, deadline: float, measure) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(**CHROMIUM_LAUNCH)
        try:
            timeout_ms = max(deadline - time.monotonic(), 1) * 1000
            tasks = [asyncio.ensure_future(_drive(browser, base, s, results[s.index], timeout_ms)) for s in sessions]
            done, pending = await asyncio.wait(tasks, timeout=max(deadline - time.monotonic(), 1))
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        finally:
            measure()  # while the browser's processes still exist
            await browser.close()


def _run_in_own_thread(coroutine) -> None:
    """asyncio.run on a fresh thread: the caller's thread may already run an event loop (Playwright's sync
    API in the same pytest session does), and asyncio.run refuses to nest."""
    failure = []

    def target():
        try:
            asyncio.run(coroutine)
        except BaseException as error:  # re-raised in the caller's thread
            failure.append(error)

    worker = threading.Thread(target=target)
    worker.start()
    worker.join()
    if failure:
        raise failure[0]


def has_interventions(app: Path) -> bool:
    """Whether the page at ``app`` offers the forced-gate radio (on its *Compare & intervene* page)."""
    pages = [Path(app).parent / "views" / "pages" / "compare.py", Path(app).parent / "views" / "compare.py"]
    return any(page.is_file() and "intervention_mode" in page.read_text(encoding="utf-8") for page in pages)


def run(sessions: int = 20, seconds: float = 300, models_dir: Path | None = None, app: Path | None = None,
        rounds: int = 1, minutes: float | None = None) -> Report:
    """Run the load test; returns the ``Report`` (``report.table()`` prints it). ``rounds`` waves of
    ``sessions`` concurrent sessions, each wave with new sentences, against one server: memory that grows
    from wave to wave would be a leak. With ``minutes``, the soak: waves until a next one (as long as the last)
    would end after ``minutes``. Bounded by ``seconds`` from the call, server start-up included; the
    server is killed before this returns. The server and the sequential run read the same snapshot of the
    model folders, so a retraining in progress cannot make them differ."""
    started = time.monotonic()
    deadline = started + seconds
    soak_end = started + minutes * 60 if minutes else None
    app = Path(app or ROOT / "app.py")
    source = Path(models_dir or ROOT / "models")
    shipped = [name for name in ("sst2-gru", "sst2-gru-noreset", "sst2-rnn") if (source / name).is_dir()]
    notes = []
    interventions = has_interventions(app)
    if not interventions:
        notes.append("the page has no intervention widgets: sessions differ by sentence and model only")
    with tempfile.TemporaryDirectory(prefix="gru-viz-load-") as folder:
        snapshot = Path(folder) / "models"
        for name in shipped:
            shutil.copytree(source / name, snapshot / name)
        loaded: dict = {}

        def wave_plan(wave: int) -> tuple[list[Session], dict]:
            chosen = plan(sessions, shipped, start=wave * sessions)
            expected = expected_numbers(chosen, snapshot, loaded)
            if not interventions:
                chosen = [Session(s.index, s.text, s.model) for s in chosen]
                expected = {i: {k: v for k, v in numbers.items() if "clamped" not in k}
                            for i, numbers in expected.items()}
            return chosen, expected

        results: dict[int, Result] = {}
        waves: list[dict] = []
        require_chromium()
        server = StreamlitServer(app, env={"GRU_VIZ_MODELS": str(snapshot),
                                           "STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": str(SESSION_TTL)},
                                 log=Path(folder) / "streamlit.log")
        _RUNNING.append(server)
        rss, cpu = {"start": 0, "peak": 0}, {"server": 0.0, "browser": 0.0}
        stop_sampling = threading.Event()

        low = {"fds": [], "threads": []}  # this wave's counts, sampled from its start: the fewest are kept

        def sample():
            while not stop_sampling.wait(0.25):
                rss["peak"] = max(rss["peak"], tree_rss(server.process.pid))
                low["fds"].append(open_fds(server.process.pid))
                low["threads"].append(thread_count(server.process.pid))

        def measure():  # CPU used so far; the browser's is lost when it closes, so it is added per wave
            cpu["server"] = tree_cpu(server.process.pid) - server_cpu_at_start
            cpu["browser"] += tree_cpu(os.getpid(), exclude=server.process.pid) - sum(os.times()[:2])

        sampler = threading.Thread(target=sample, daemon=True)
        try:
            server.wait_ready(max(deadline - time.monotonic(), 1))
            rss["start"] = rss["peak"] = tree_rss(server.process.pid)
            server_cpu_at_start = tree_cpu(server.process.pid)
            sampler.start()
            wave, last_wave_seconds = 0, 0.0
            while _another_wave(wave, rounds, soak_end, last_wave_seconds):
                chosen, expected = wave_plan(wave)
                results.update({s.index: Result(s, expected[s.index]) for s in chosen})
                wave_started = time.monotonic()
                low["fds"], low["threads"] = [], []
                if wave_started < deadline:
                    limit = min(deadline, wave_started + WAVE_SECONDS) if soak_end else deadline
                    _run_in_own_thread(_drive_all(chosen, results, server.url, limit, measure))
                else:
                    for s in chosen:
                        results[s.index].errors.append("not started: the time limit was reached")
                last_wave_seconds = time.monotonic() - wave_started
                time.sleep(SETTLE_SECONDS)
                pid = server.process.pid
                fds, threads = min(low["fds"], default=open_fds(pid)), min(low["threads"], default=thread_count(pid))
                waves.append({"wave": wave + 1, "sessions": len(chosen), "seconds": last_wave_seconds,
                              "matched": sum(results[s.index].ok for s in chosen), "rss": tree_rss(pid),
                              "fds": fds, "threads": threads})
                rss[f"after wave {wave + 1}"] = waves[-1]["rss"]
                if soak_end:  # progress of a long run, with what differed, in case the run is cut short
                    print(f"wave {wave + 1}: {waves[-1]}", file=sys.stderr, flush=True)
                    for s in chosen:
                        for line in results[s.index].details():
                            print(f"  session {s.index} ({s.model}, {s.intervention or 'read'}, {s.text!r}): {line}",
                                  file=sys.stderr, flush=True)
                wave += 1
        finally:
            stop_sampling.set()
            if sampler.is_alive():
                sampler.join()
            server.stop()
            _RUNNING.remove(server)
        log = server.log_text()
    server_errors = [line for line in log.splitlines() if "Traceback" in line or "Error" in line][:10]
    return Report(list(results.values()), rss, cpu, time.monotonic() - started, server_errors, notes, waves)


def _another_wave(wave: int, rounds: int, soak_end: float | None, last_wave_seconds: float) -> bool:
    """``rounds`` waves; in a soak, waves while one as long as the last still ends by ``soak_end``."""
    if soak_end is None:
        return wave < rounds
    return wave == 0 or time.monotonic() + SETTLE_SECONDS + last_wave_seconds <= soak_end


def _give_up() -> None:
    for server in _RUNNING:
        server.stop(((signal.SIGKILL, 5),))
    print("error: the load test overran its time limit and was stopped", file=sys.stderr)
    os._exit(3)  # Playwright's driver exits when our end of its pipe closes, and closes Chromium


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.loadtest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=20, help="concurrent browser sessions (default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=300, help="hard time limit, server start included "
                                                                  "(default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=1, help="waves of sessions, new sentences each "
                                                              "(default: %(default)s)")
    parser.add_argument("--minutes", type=float, help="the soak: waves of new sessions for this many minutes "
                                                      "(the time limit becomes these minutes + 5)")
    parser.add_argument("--models", type=Path, default=ROOT / "models", help="models folder (default: %(default)s)")
    args = parser.parse_args(argv)
    if not 1 <= args.sessions <= 100 or not 10 <= args.seconds <= 1800 or not 1 <= args.rounds <= 10:
        parser.error("sessions must lie in 1 … 100, seconds in 10 … 1800 and rounds in 1 … 10")
    if args.minutes is not None and not 1 <= args.minutes <= 120:
        parser.error("minutes must lie in 1 … 120")
    if args.minutes is not None:
        args.seconds = args.minutes * 60 + 300  # the last wave may start just before the minutes are up
    watchdog = threading.Timer(args.seconds + 60, _give_up)  # a last resort if cleanup itself hangs
    watchdog.daemon = True
    watchdog.start()
    try:
        report = run(args.sessions, args.seconds, args.models, rounds=args.rounds, minutes=args.minutes)
    except (RuntimeError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(report.table())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
