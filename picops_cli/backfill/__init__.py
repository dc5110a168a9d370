"""``picops backfill`` and the parts ``plan`` and ``upload`` share with it.

* :mod:`.command`: the click command, its checks and its report.
* :mod:`.runner`: the loop (listing, routing, manifests, the worker pool).
* :mod:`.listing`: paging through a bucket.
* :mod:`.scope`: which objects the function would process; the config's fingerprint.
* :mod:`.plan`: a dry run's per-object changes and per-route table.
* :mod:`.ratelimit`: the CI call ceiling and SlowDown backoff.
* :mod:`.checkpoint`: the resume point and its file format.
* :mod:`.fanout`: ``--fan-out``, page events sent to the deployed function.
* :mod:`.summary`: the counts, their table and JSON line.

Importing the package imports none of them, so a part loads without the command.
"""
