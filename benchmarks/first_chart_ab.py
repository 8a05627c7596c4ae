"""Two or more versions of the app, their first chart timed against each other in one run.

``python -m benchmarks.first_chart_ab --page unit --tabs 10 path/to/app.py other/checkout/app.py``

This machine's speed drifts: the same page's first chart measured 1.6 s and 2.7 s half an hour apart, more than
most changes to a page are worth. So this starts one server per app, opens each page once on each (the first
visit of a page in a server's life is not what a change is judged on), and then opens new tabs in turn, one on
each server per round, so every version meets the same drift. It prints each version's median, fastest and
slowest first chart on the page's own clock (``browser_bench.first_chart_ms``), in a browser that has opened that
app before. ``APP:NAME=VALUE`` starts that app's server with an environment variable set (a copy of a page that
reads one to leave a section out, say). A script, not a test: it prints, it asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
from contextlib import ExitStack
from pathlib import Path

from benchmarks.browser import StreamlitServer, chromium
from benchmarks.browser_bench import first_chart_ms, warm_browser_context

__all__ = ["main"]


def _variant(text: str) -> tuple[Path, dict[str, str]]:
    app, _, setting = text.partition(":")
    name, equals, value = setting.partition("=")
    if setting and not (equals and name):
        raise argparse.ArgumentTypeError(f"{text!r}: give APP or APP:NAME=VALUE")
    if not Path(app).is_file():
        raise argparse.ArgumentTypeError(f"no app script at {app}")
    return Path(app), ({name: value} if setting else {})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.first_chart_ab", description=__doc__.splitlines()[0])
    parser.add_argument("apps", nargs="+", type=_variant, help="app scripts, each APP or APP:NAME=VALUE")
    parser.add_argument("--page", default="", help="the URL path to open ('' for the default page)")
    parser.add_argument("--tabs", type=int, default=10, help="new tabs per app, taken in turns")
    args = parser.parse_args(argv)
    names = [f"{app}{' ' + ' '.join(f'{k}={v}' for k, v in env.items()) if env else ''}" for app, env in args.apps]
    times: list[list[float]] = [[] for _ in args.apps]
    with ExitStack() as stack, chromium() as browser:
        servers = []
        for app, env in args.apps:
            server = StreamlitServer(app, env=env)
            stack.callback(server.stop)
            servers.append(server)
        for server in servers:
            server.wait_ready()
        contexts = [warm_browser_context(browser, server.url) for server in servers]
        urls = [f"{server.url}/{args.page.strip('/')}" for server in servers]
        for url, context in zip(urls, contexts):
            first_chart_ms(browser, url, context)  # the page's first visit on this server: not counted
        for _ in range(max(args.tabs, 1)):
            for measured, url, context in zip(times, urls, contexts):
                drawn = first_chart_ms(browser, url, context)
                if drawn is None:
                    parser.exit(1, f"{url}: no chart in the first screen\n")
                measured.append(drawn)
    print(f"/{args.page.strip('/')}: first chart in a new tab, {args.tabs} tabs per app taken in turns (ms)")
    for name, measured in zip(names, times):
        print(f"  median {statistics.median(measured):6.0f}  fastest {min(measured):6.0f}  slowest "
              f"{max(measured):6.0f}   {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
