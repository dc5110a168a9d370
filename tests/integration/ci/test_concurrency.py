"""Parallel ``ci_image_process`` calls: each gets its own, correct outputs, and the image
work runs in the CI pool's threads, several at once, never on the event loop."""

import threading
from concurrent.futures import ThreadPoolExecutor

CALLS = 8
SOURCES = ["rocket.jpg", "grace_hopper.jpg", "chelsea.png", "coffee.webp"]


def test_parallel_calls_on_different_keys(ci, client_for, emulator, ci_service):
    threads = set()
    # Every execution waits at this barrier for another one: if the engine ran one rule at
    # a time (or on the event loop), the barrier would break and the requests would fail.
    meeting = threading.Barrier(2, timeout=20)
    execute = ci_service._execute

    def observed(*args, **kwargs):
        threads.add(threading.current_thread().name)
        meeting.wait()
        return execute(*args, **kwargs)

    ci_service._execute = observed
    for i in range(CALLS):
        ci.upload(f"src/{i}/{SOURCES[i % len(SOURCES)]}", SOURCES[i % len(SOURCES)])

    def process(i):
        client = client_for(emulator)  # one client (one connection pool) per caller
        name = SOURCES[i % len(SOURCES)]
        _, data = client.ci_image_process(Bucket=ci.bucket, Key=f"src/{i}/{name}",
                                          PicOperations=ci.pic_operations([
                                              {"fileid": f"w{40 + 10 * i}.png",
                                               "rule": f"imageMogr2/thumbnail/{40 + 10 * i}x"
                                                       f"|imageMogr2/format/png"}],
                                              is_pic_info=1))
        return data

    with ThreadPoolExecutor(CALLS) as pool:
        results = list(pool.map(process, range(CALLS)))

    for i, data in enumerate(results):
        name = SOURCES[i % len(SOURCES)]
        key = f"src/{i}/w{40 + 10 * i}.png"
        assert data["OriginalInfo"]["Key"] == f"src/{i}/{name}"
        source = ci.get_image(f"src/{i}/{name}")
        assert (data["OriginalInfo"]["ImageInfo"]["Width"],
                data["OriginalInfo"]["ImageInfo"]["Height"]) == (str(source.width),
                                                                 str(source.height))
        obj = ci.objects(data)[0]
        assert obj["Key"] == key
        image = ci.get_image(key)
        width = 40 + 10 * i
        height = round(source.height * width / source.width)
        assert ci.loader(image) == "png"
        assert abs(image.height - height) <= 1 and image.width == width
        assert (int(obj["Width"]), int(obj["Height"])) == (image.width, image.height)
        assert ci.head_etag(key) == obj["ETag"].strip('"')
        # The right picture: the thumbnail's mean colour is its own source's.
        for band in range(3):
            assert abs(image[band].avg() - source[band].avg()) < 6
    assert all(t.startswith("ci-image") for t in threads), threads
    assert len(threads) >= 2
    assert len(ci.keys()) == 2 * CALLS
