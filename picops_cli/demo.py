"""``picops demo`` (``make demo``): the main job, end to end, on one machine.

1. Start the local cloud (COS + CI emulator and SCF triggers from the project's
   serverless.yml and picops.yaml) on a free port with a fresh data folder and
   a throw-away key pair.
2. Upload the shipped example images through the real SDK, each under the
   first route that an enabled trigger covers, exactly as a user would.
3. Wait for the function (fired by the trigger, isolated in its own process)
   to have written every derivative.
4. Print a table of source -> derivatives, a clear line for any upload that
   failed (the example set includes a text file named .jpg on purpose), and
   write a page showing originals beside their derivatives.

Exit status 0 when every upload ended cleanly (processed, or failed with a
clear permanent error); 1 when something crashed, timed out, was
dead-lettered or lost a derivative.
"""

import secrets
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import click
from rich import box
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from picops_cli import gallery
from picops_cli.consoles import report_console
from picops_cli.terminal import printable

CONTENT_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png",
                 ".gif": "image/gif", ".webp": "image/webp"}


@dataclass
class Upload:
    path: Path
    bucket: str
    key: str
    record: Optional[dict] = None         # the handler's per-record result
    problem: str = ""                     # why the demo could not get a result
    local_outputs: List[Tuple[dict, Path]] = field(default_factory=list)


def pick_route(cloud) -> Tuple[str, str]:
    """The (bucket, prefix) of the first route an enabled ObjectCreated trigger covers."""
    from picops import routing

    triggers = [t for t in cloud.prepared.spec.triggers
                if t.enable and t.events.startswith("cos:ObjectCreated")]
    for route in cloud.prepared.config.routes:
        for trig in triggers:
            probe = route.prefix + "demo.jpg"
            if probe.startswith(trig.prefix or "") and routing.match(
                    cloud.prepared.config, probe) is route:
                return trig.bucket, route.prefix
    raise click.ClickException("no route in the config is covered by an enabled "
                               "cos:ObjectCreated trigger in serverless.yml")


def _results_by_key(cloud) -> Dict[str, Tuple[str, Optional[dict], str]]:
    """key -> (dispatcher outcome, handler record result or None, failure text)."""
    out = {}
    for inv in cloud.dispatcher.invocations:
        value = inv.value if isinstance(inv.value, dict) else {}
        rec = next((r for r in value.get("results", []) if r.get("key") == inv.key), None)
        failure = inv.failure.message if inv.failure is not None else ""
        out[inv.key] = (inv.outcome, rec, failure)
    return out


@click.command()
@click.option("--images", default="examples/images", show_default=True,
              type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="folder of images to upload")
@click.option("--out", default="build/demo", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="where the derivatives and the page are written")
@click.option("--timeout", default=180.0, show_default=True,
              help="seconds to wait for every derivative")
def demo(images: Path, out: Path, timeout: float) -> None:
    """Upload example images to the local emulator and show every derivative."""
    from picops_emulator import local

    console = report_console()
    files = sorted(p for p in images.iterdir()
                   if p.is_file() and p.suffix.lower() in CONTENT_TYPES)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    options = local.LocalOptions(
        data_dir=out / "emulator-data", port=0, secret_id="AKIDpicopsdemo" + secrets.token_hex(4),
        secret_key=secrets.token_hex(16), retry_delays=(0.5, 1.0), fsync=False)
    with local.start(options) as cloud:
        console.print(f"local COS + CI emulator at [bold]{cloud.endpoint}[/] "
                      f"(serverless.yml triggers wired)")
        console.print(cloud.prepared.launch.shown_note, markup=False)
        bucket, prefix = pick_route(cloud)
        client = cloud.client()
        uploads = [Upload(p, bucket, prefix + p.name) for p in files]
        _upload_and_wait(console, cloud, client, uploads, timeout)
        _download(client, uploads, out / "derivatives")
        failed = _report(console, uploads)
    page = gallery.write_page(_rows(uploads, cloud.prepared.config), out,
                              "picops demo: originals and derivatives", summary_line(uploads))
    console.print(summary_line(uploads), markup=False)
    # as_uri: a path with spaces or "[" stays a working URL and is never read as markup
    console.print(f"\npage: {page.resolve().as_uri()}", markup=False)
    sys.exit(1 if failed else 0)


def _upload_and_wait(console, cloud, client, uploads: List[Upload], timeout: float) -> None:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("uploading", total=len(uploads))
        for up in uploads:
            client.put_object(Bucket=up.bucket, Key=up.key, Body=up.path.read_bytes(),
                              ContentType=CONTENT_TYPES[up.path.suffix.lower()])
            progress.advance(task)
        wait = progress.add_task("waiting for the function", total=len(uploads))
        deadline = time.monotonic() + timeout
        while True:
            done = {k for k, (outcome, _, _) in _results_by_key(cloud).items()
                    if outcome not in ("pending", "retrying")}
            progress.update(wait, completed=sum(u.key in done for u in uploads))
            if all(u.key in done for u in uploads) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    # Derivatives written by CI fire their own events; let those settle too.
    cloud.wait_idle(max(0.0, deadline - time.monotonic()))
    results = _results_by_key(cloud)
    for up in uploads:
        outcome, rec, failure = results.get(up.key, ("missing", None, ""))
        up.record = rec
        if outcome != "succeeded":
            up.problem = f"the function did not finish ({outcome}) {failure}".strip()
        elif rec is None:
            up.problem = "the function returned no result for this key"


def _download(client, uploads: List[Upload], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    for up in uploads:
        for o in (up.record or {}).get("outputs", []) or []:
            n += 1
            target = folder / f"{n:03d}{Path(o['key']).suffix}"
            body = client.get_object(Bucket=o["bucket"], Key=o["key"])["Body"]
            target.write_bytes(body.get_raw_stream().read())
            up.local_outputs.append((o, target))


def _report(console, uploads: List[Upload]) -> bool:
    buckets = sorted({o["bucket"] for up in uploads for o, _ in up.local_outputs})
    source = uploads[0].bucket if uploads else ""
    table = Table(title=f"derivatives written by CI (emulated): {source} -> "
                        f"{', '.join(buckets) or '-'}", box=box.SIMPLE_HEAD, title_justify="left")
    # fold, never truncate: the keys are the point of the table (piped, nothing folds:
    # see picops_cli.consoles)
    for col in ("source", "derivative key", "format", "pixels", "bytes"):
        table.add_column(col, justify="right" if col == "bytes" else "left", overflow="fold")
    failed_badly = False
    for up in uploads:
        rec = up.record or {}
        if rec.get("outcome") == "processed":
            for i, (o, _) in enumerate(up.local_outputs):
                # Text, not str: a name or key is never read as markup
                table.add_row(Text(printable(up.path.name) if i == 0 else ""),
                              Text(printable(o["key"])),
                              str(o.get("format", "")), f"{o.get('width')}x{o.get('height')}",
                              f"{o.get('size', 0):,}")
            if len(up.local_outputs) != len(rec.get("outputs") or []):
                failed_badly = True
    console.print(table)
    for up in uploads:
        rec = up.record or {}
        if up.problem:
            failed_badly = True
            _say(console, "FAILED", "red", f"{up.key}: {up.problem}")
        elif rec.get("outcome") == "failed":
            err = rec.get("error") or {}
            _say(console, "failed", "yellow", f"{up.key}: {err.get('code')} "
                                              f"(HTTP {err.get('status')}): {err.get('message')}")
        elif rec.get("outcome") == "skipped":
            _say(console, "skipped", "", f"{up.key}: {rec.get('reason')}")
    return failed_badly


def _say(console, word: str, style: str, text: str) -> None:
    """One line: ``word`` in ``style``, then ``text`` made printable, never read as markup."""
    console.print(Text.assemble((word, style), " ", printable(text)))


def summary_line(uploads: List[Upload]) -> str:
    """``6 uploads: 5 processed into 20 derivatives, 1 failed (InvalidImageFormat)``."""
    processed = [u for u in uploads if (u.record or {}).get("outcome") == "processed"
                 and not u.problem]
    failed = [u for u in uploads if u.problem or (u.record or {}).get("outcome") == "failed"]
    skipped = len(uploads) - len(processed) - len(failed)
    made = sum(len(u.local_outputs) for u in processed)
    text = f"{len(uploads)} upload(s): {len(processed)} processed into {made} derivative(s)"
    if skipped:
        text += f", {skipped} skipped"
    if failed:
        codes = sorted({((u.record or {}).get("error") or {}).get("code") or "not finished"
                        for u in failed})
        text += f", {len(failed)} failed ({', '.join(codes)})"
    return text


def _rules_by_output(config, up: Upload) -> Dict[Tuple[str, str], str]:
    """(bucket, key) -> the rule that writes it, from the config the function ran."""
    from picops import routing

    try:
        plan = routing.plan(config, up.bucket, up.key)
    except Exception:  # noqa: BLE001 - no rule to show is better than no page
        return {}
    return {(o.bucket, o.key): o.rule for o in (plan.outputs if plan is not None else ())}


def _original_facts(up: Upload) -> dict:
    """The original's format, pixels and quality: CI's ImageInfo from the outcome line when
    the route asks for it (pic_info), else read here with the emulator's engine."""
    info = (up.record or {}).get("original")
    if isinstance(info, dict) and info.get("width"):
        return {"format": str(info.get("format") or "").lower(), "width": info.get("width"),
                "height": info.get("height"), "quality": info.get("quality")}
    from picops.errors import PicopsError
    from picops_emulator.imaging.probe import probe

    try:
        found = probe(up.path.read_bytes())
    except (PicopsError, OSError):
        return {}
    return {"format": found.format.lower(), "width": found.width, "height": found.height,
            "quality": found.quality}


def _rows(uploads: List[Upload], config) -> List[gallery.Row]:
    rows = []
    for up in uploads:
        rec = up.record or {}
        facts = _original_facts(up)
        original = gallery.Picture(path=up.path, label=up.key,
                                   format=facts.get("format") or up.path.suffix.lstrip("."),
                                   width=facts.get("width"), height=facts.get("height"),
                                   quality=facts.get("quality"), size=up.path.stat().st_size)
        rules = _rules_by_output(config, up)
        derivs = [gallery.Picture(path=p, label=o["key"], format=o.get("format", ""),
                                  width=o.get("width"), height=o.get("height"),
                                  size=o.get("size"), quality=o.get("quality"),
                                  detail=rules.get((o["bucket"], o["key"]), ""))
                  for o, p in up.local_outputs]
        error = ""
        if up.problem:
            error = up.problem
        elif rec.get("outcome") == "failed":
            err = rec.get("error") or {}
            error = f"{err.get('code')}: {err.get('message')}"
            if err.get("code") == "InvalidImageFormat":
                # not an image at all: a placeholder, never a broken <img>
                original.error = "not a readable image"
        rows.append(gallery.Row(original=original, derivatives=derivs, error=error))
    return rows
