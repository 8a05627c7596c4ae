"""Many users: a small run of the load script (5 concurrent browser sessions on two small random models),
and the script's own parts. ``python -m benchmarks.loadtest`` runs the full 20."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchmarks import loadtest
from gru_viz.upload import write_template

ROOT = Path(__file__).resolve().parent.parent
SESSIONS = 5
SECONDS = 240  # the hard limit of this run, server start included: 2 shared cores, a cold torch import


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    words = [word for sentence in loadtest.SENTENCES for word in sentence.split()]
    write_template(folder / "sst2-gru", words=words, hidden_size=8, embed_dim=6)
    write_template(folder / "sst2-rnn", words=words, arch="rnn", hidden_size=5, embed_dim=4, seed=1)
    return folder


@pytest.mark.slow  # a server and five browser sessions; still run in CI
def test_concurrent_sessions_each_see_their_own_sequential_numbers(models_dir):
    report = loadtest.run(SESSIONS, SECONDS, models_dir=models_dir)
    print(report.table())  # shown with pytest -s, and on failure
    assert report.ok, report.table()
    assert len(report.results) == SESSIONS and report.seconds < SECONDS + 30
    for result in report.results:  # every number compared, charts value for value
        assert result.shown["P(positive)"] == result.expected["P(positive)"]
        assert result.shown["chart"] == result.expected["chart"] and len(result.shown["chart"]) >= 1
    if loadtest.has_interventions(ROOT / "app.py"):
        clamped = [r for r in report.results if r.session.intervention]
        assert clamped and all(r.shown["clamped chart"] == r.expected["clamped chart"] for r in clamped)
    assert {r.session.model for r in report.results} == {"sst2-gru", "sst2-rnn"}
    assert 0 < report.rss["start"] <= report.rss["peak"] < 2 * 2**30  # bounded: two small models, five pages


def test_the_plan_gives_every_session_its_own_sentence():
    planned = loadtest.plan(50)
    assert len({s.text for s in planned}) == 50
    assert {s.intervention for s in planned} == {None, *loadtest.INTERVENTIONS}
    assert all(s.intervention is None for s in planned if s.model == "sst2-rnn")
    assert all(s.path().startswith("/compare?text=" if s.intervention else "/?text=") for s in planned)


def test_a_result_matches_only_when_every_number_does():
    session = loadtest.Session(0, "a triumph")
    expected = {"P(positive)": "0.995", "chart": [0.5, 0.995]}
    assert loadtest.Result(session, expected, shown=dict(expected)).ok
    assert not loadtest.Result(session, expected, shown={**expected, "chart": [0.5, 0.9950000000000001]}).ok
    assert not loadtest.Result(session, expected, shown=dict(expected), errors=["timeout"]).ok


def test_a_second_read_excuses_a_number_not_yet_shown_never_a_wrong_one():
    session = loadtest.Session(0, "a triumph")
    expected = {"P(positive)": "0.99", "chart": [0.5, 0.99]}
    late = loadtest.Result(session, expected, shown=dict(expected), first_read={"P(positive)": None, "chart": None})
    assert late.ok and late.details() == [
        "read twice: the first read found P(positive), chart missing",
        "first read P(positive): page None ≠ sequential '0.99'", "first read chart: page None ≠ sequential [0.5, 0.99]"]
    wrong_first = loadtest.Result(session, expected, shown=dict(expected),
                                  first_read={"P(positive)": "0.98", "chart": None})
    assert not wrong_first.ok and "and P(positive) different" in wrong_first.details()[0]
    assert not loadtest.Result(session, expected, shown={"P(positive)": None, "chart": [0.5, 0.99]}).ok


def test_memory_and_cpu_are_read_for_a_process_and_its_children():
    assert loadtest.tree_rss(os.getpid()) > 10 * 2**20
    assert loadtest.tree_cpu(os.getpid()) > 0
    assert loadtest.tree_rss(2**22 + 12345) == 0  # a pid that does not exist


def test_bad_arguments_are_one_line_and_no_server(capsys):
    with pytest.raises(SystemExit) as stopped:
        loadtest.main(["--sessions", "0"])
    assert stopped.value.code == 2 and "sessions must lie" in capsys.readouterr().err


def _report(waves, results=()):
    return loadtest.Report(list(results), {}, {"server": 0.0, "browser": 0.0}, 1.0, [], [], waves)


def _wave(index, rss_mib, fds=30, threads=12):
    return {"wave": index, "sessions": 10, "matched": 10, "seconds": 60.0, "rss": rss_mib * 2**20, "fds": fds,
            "threads": threads}


def test_the_soak_passes_only_when_memory_descriptors_and_threads_stay_flat():
    flat = [_wave(1, 300), _wave(2, 400), _wave(3, 430, fds=36), _wave(4, 370, threads=15)]
    assert _report(flat).verdict() == "PASS" and _report(flat).ok  # first wave fills caches; 400 ± 10% holds
    grown = flat + [_wave(5, 441)]
    assert _report(grown).verdict().startswith("FAIL: memory after wave 5 is 441 MiB, +10%")
    # a count that swings with the sessions still open and comes back down is no leak (the real soak's fds: 25–34)
    swinging = flat + [_wave(w, 400, fds=30 + 9 * (w % 2), threads=12 + 6 * (w % 2)) for w in range(5, 13)]
    assert _report(swinging).leaks() == []
    # a floor that rises is: the fewest over the last third (waves 9–12) against the fewest of waves 2–4
    leaking = flat + [_wave(w, 400, fds=30 + 2 * w, threads=12 + w) for w in range(5, 13)]
    assert _report(leaking).leaks() == ["fds: at least 48 over the last 4 waves, against at least 30 from the "
                                        "second wave on",
                                        "threads: at least 21 over the last 4 waves, against at least 12 from the "
                                        "second wave on"]
    assert _report(flat[:2]).leaks() == []  # two waves cannot show a trend
    unmatched = loadtest.Result(loadtest.Session(0, "a triumph"), {"P(positive)": "0.99"}, shown={})
    assert _report(flat, [unmatched]).verdict() == "FAIL: 1 of 1 sessions did not match"


def test_a_soak_rotates_models_and_interventions_and_never_repeats_a_sentence():
    shipped = ("sst2-gru", "sst2-gru-noreset", "sst2-rnn")
    waves = [loadtest.plan(10, shipped, start=wave * 10) for wave in range(20)]
    sessions = [s for wave in waves for s in wave]
    assert len({s.text for s in sessions}) == len(sessions) == 200
    for wave in waves:  # every wave: all three models, every intervention
        assert {s.model for s in wave} == set(shipped)
        assert {s.intervention for s in wave} == {None, *loadtest.INTERVENTIONS}
