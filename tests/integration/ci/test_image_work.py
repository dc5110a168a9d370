"""How CI requests share the image work, over real HTTP with the real SDK: a deadline per
request, work stopped when the client goes away, one expensive request never holding every
slot, and a bounded number of requests holding their sources while the rest wait.

The emulator here has 2 image slots (one per core on the project's machines), so a request
runs at most one job at a time and at most 4 requests are admitted at once. Assertions are
on outcomes and order of events, never on durations."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from qcloud_cos.cos_exception import CosClientError

from picops_emulator.ci.service import CiService
from picops_emulator.imaging import Limits, ProcessingCancelled
from tests.hostile import photo

SLOTS = 2
BLUR = "imageMogr2/blur/50x25"


def slow_rule(stages: int) -> str:
    """Seconds of CPU on an 800x800 image: ``stages`` blurs of radius 50 in a pipeline."""
    return "|".join([BLUR] * stages)


@pytest.fixture
def ci_service(request):
    limits = getattr(request, "param", None) or Limits()
    service = CiService(workers=SLOTS, limits=limits, qps=0)
    yield service
    service.close()


@pytest.fixture
def big(ci):
    ci.upload("big.png", photo(800, 800).pngsave_buffer(compression=1))
    return "big.png"


def record_jobs(service, started=None):
    """Wrap the service's rule execution: returns (finished list of (rule text, outcome),
    an event set when any job finishes); ``started`` is set when any job starts."""
    finished, done = [], threading.Event()
    execute = service._execute

    def observed(rule, *args):
        if started is not None:
            started.set()
        try:
            out = execute(rule, *args)
            finished.append((rule.rule_text, "ok"))
            return out
        except Exception as e:
            finished.append((rule.rule_text, type(e).__name__))
            raise
        finally:
            done.set()

    service._execute = observed
    return finished, done


@pytest.mark.parametrize("ci_service", [Limits(max_request_seconds=0.2)], indirect=True)
def test_a_request_over_its_deadline_is_stopped_with_a_4xx(ci, big, ci_service):
    finished, _ = record_jobs(ci_service)
    err = ci.process_error(big, ci.pic_operations([{"fileid": "blurred.png",
                                                    "rule": slow_rule(4)}]))
    ci.assert_error(err, 400, "ProcessingTimeout", "rules[0]", "0.2 s",
                    "--limit max_request_seconds=<value> raises it")
    assert finished == [(slow_rule(4), "ProcessingTimeout")]
    assert ci.keys() == [big]
    # The slot is free again: a cheap request on the same emulator goes through.
    ci.process(big, [{"fileid": "small.png", "rule": "imageMogr2/thumbnail/20x"}])
    assert ci.keys() == [big, "small.png"]


def test_work_stops_when_the_client_goes_away(ci, big, ci_service, client_for, emulator):
    finished, done = record_jobs(ci_service)
    impatient = client_for(emulator, Timeout=1)  # gives up (closes the socket) after 1 s
    rules = ci.pic_operations([{"fileid": "blurred.png", "rule": slow_rule(10)}])
    with pytest.raises(CosClientError, match="timed out"):
        impatient.ci_image_process(Bucket=ci.bucket, Key=big, PicOperations=rules)
    assert done.wait(60), "the job never ended"
    # Ten radius-50 blurs take many seconds and would end "ok" if nobody stopped them.
    assert finished == [(slow_rule(10), ProcessingCancelled.__name__)]
    assert ci.keys() == [big]


def test_one_expensive_request_never_holds_every_slot(ci, big, ci_service, client_for,
                                                      emulator):
    started = threading.Event()
    finished, _ = record_jobs(ci_service, started)
    ci.upload("small.jpg", "rocket.jpg")
    heavy = [{"fileid": f"heavy{i}.png", "rule": slow_rule(1)} for i in range(3)]
    order = []

    def call(key, rules, label):
        client = client_for(emulator, Timeout=300)
        client.ci_image_process(Bucket=ci.bucket, Key=key,
                                PicOperations=ci.pic_operations(rules))
        order.append(label)

    with ThreadPoolExecutor(2) as pool:
        expensive = pool.submit(call, big, heavy, "expensive")
        assert started.wait(60)  # the expensive request's first job runs
        cheap = pool.submit(call, "small.jpg",
                            [{"fileid": "thumb.jpg", "rule": "imageMogr2/thumbnail/50x"}],
                            "cheap")
        cheap.result(timeout=120)
        # The cheap request's job ended before any of the expensive request's three did:
        # it found the second slot free instead of queueing behind them.
        assert [label for label, _ in finished][:1] == [
            "imageMogr2/thumbnail/50x"], finished
        expensive.result(timeout=300)
    assert order == ["cheap", "expensive"]
    assert len(ci.keys()) == 2 + 1 + 3


def test_queued_requests_wait_before_reading_their_source(ci, ci_service, client_for,
                                                          emulator):
    admitted, peak, lock = [0], [0], threading.Lock()
    process = ci_service._process_admitted

    async def counted(*args):
        with lock:
            admitted[0] += 1
            peak[0] = max(peak[0], admitted[0])
        try:
            return await process(*args)
        finally:
            with lock:
                admitted[0] -= 1

    ci_service._process_admitted = counted
    ci.upload("src.png", photo(400, 400).pngsave_buffer())
    calls = 12

    def call(i):
        client = client_for(emulator)
        _, data = client.ci_image_process(Bucket=ci.bucket, Key="src.png",
                                          PicOperations=ci.pic_operations([
                                              {"fileid": f"out{i}.png",
                                               "rule": "imageMogr2/blur/20x10"}]))
        return data

    with ThreadPoolExecutor(calls) as pool:
        results = list(pool.map(call, range(calls)))
    assert len(results) == calls and len(ci.keys()) == calls + 1
    assert ci_service.work.admitted == 2 * SLOTS
    assert 2 <= peak[0] <= 2 * SLOTS, peak
