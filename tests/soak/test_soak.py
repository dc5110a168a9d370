"""The short fault soak (tens of seconds) in `make test`; `make soak` runs the long one."""

from tests.soak.soak import SoakOptions, run


def test_short_soak_loses_nothing_and_leaves_no_orphan(tmp_path):
    options = SoakOptions(seconds=10, operations=40, clients=3, keys_per_client=3, kills=1,
                          ci_errors=0.15, ci_errors_after=0.1, function_crashes=0.08,
                          function_timeouts=0.08, seed=5)
    report = run(tmp_path, options)
    summary = report.to_json()
    assert report.problems == [], summary
    assert report.kills == 1 and report.journal_open == 0, summary
    assert sum(report.operations.values()) >= 20, summary
    assert sum(report.faults.values()) >= 3, summary  # faults really were injected
    # every source is complete, or its event is a dead letter (checked per key in run)
    assert report.sources_complete + len(report.dead_letter_keys) >= report.sources, summary
