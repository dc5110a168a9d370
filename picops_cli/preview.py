"""``picops preview``: run CI rules on local files with the emulator's engine and show the results.

    picops preview RULE IMAGE... [--out DIR] [--assets DIR] [--html]
    picops preview --route PREFIX IMAGE... [--config PATH] [--out DIR] [--assets DIR] [--html]

Contract:

* What to run is checked before any image is read: an invalid RULE (the grammar's message),
  a missing image, an invalid config or an unknown route prefix is a usage error, exit 2.
  (Decision: an invalid config is exit 2 here, not ``validate``'s 1, because for preview it
  is a bad input to the command, like a bad RULE.)
* Every image is read, probed (its ImageInfo) and every rule run with
  :mod:`picops_emulator.imaging`, the engine the emulator's CI uses, on a thread pool
  (libvips releases the GIL). The derivatives are written to DIR (default ``build/preview``).
* Output file names. RULE mode: ``<image stem>.<output format>``. Route mode: the COS key the
  rule's fileid gives for the key ``PREFIX + <image file name>`` (what an upload of that file
  under the route would be called), flattened into one file name by :func:`flat_name`, so no
  fileid can name a path outside DIR. A name already used in this run, reserved by the page
  (``index.html``, ``img``), or naming one of the input files, gets ``-2``, ``-3``... before
  its extension: an output never overwrites an input or another output.
* Output: per source a table (rule, output file, format, WxH, bytes, quality); an image the
  engine cannot read gets one line with its error code and message; a rule the engine refuses
  or cannot run (unsupported operation, limits) gets its row with the engine's code and
  message. The other images and rules are still processed; the exit status is 1 at the end
  when anything failed, else 0. A progress bar (stderr) shows when there are several jobs.
* ``watermark/1`` images: in CI they come from the source's bucket; here they are files. The
  URL's key is looked up under ``--assets DIR`` (default: the folder of the image being
  processed), first as a path (``DIR/<key>``), then by its file name (``DIR/<name>``); a file
  outside DIR is never read (``watermark_fetch.directory_fetcher``). A watermark found
  nowhere fails that rule with a message naming the URL and the paths looked at.
* ``--html``: one static page, ``DIR/index.html`` (:mod:`picops_cli.gallery`): per source the
  original beside every derivative with its rule and numbers; its ``file://`` URL is printed.
"""

import hashlib
import os
import re
import sys
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

import click
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table
from rich.text import Text

from picops import routing
from picops.config import load_config
from picops.model import Config, Route
from picops.constants import CI_MAX_STAGES
from picops.errors import ConfigError, GrammarError, OutputKeyError, PicopsError
from picops.grammar import Rule, parse
from picops_cli import gallery
from picops_cli.consoles import report_console
from picops_cli.defaults import config_not_found, default_config_path

DEFAULT_OUT = Path("build") / "preview"
#: Joins a COS key's segments into one file name: ``thumbs/a/b.webp`` -> ``thumbs__a__b.webp``.
FLAT_SEP = "__"
#: Names the --html page uses in DIR; an output never takes them.
RESERVED = frozenset({gallery.PAGE_NAME, gallery.ASSET_DIR, f".{gallery.ASSET_DIR}.new"})
# Characters no portable file name may hold (Windows' set, plus controls); "/" is split on.
_UNSAFE = re.compile(r'[\x00-\x1f\x7f\\:*?"<>|]')
# Most file systems cap a name at 255 bytes; keep room for a "-N" collision suffix.
_MAX_NAME_BYTES = 200


@dataclass
class Derivative:
    """One rule's result for one source: where it went and its numbers, or why it failed."""

    rule: str
    parsed: Rule
    key: Optional[str] = None  # route mode: the COS key the output would have
    base: Optional[str] = None  # RULE mode: the file name before ".<format>"
    path: Optional[Path] = None
    format: str = ""
    width: int = 0
    height: int = 0
    size: int = 0
    quality: Optional[int] = None
    frames: int = 1
    error: str = ""


@dataclass
class SourceResult:
    """One input image: its bytes' facts (``info``, an ImageInfo) and its derivatives."""

    path: Path
    data: Optional[bytes] = None
    info: Optional[object] = None
    error: str = ""
    note: str = ""
    derivatives: List[Derivative] = field(default_factory=list)


# --- naming ------------------------------------------------------------------------------

def flat_name(key: str) -> str:
    """One safe file name for a COS key: segments joined with ``__``, unsafe characters ``_``.

    The result never contains a path separator, is never ``.``, ``..`` or empty, and stays
    under ``_MAX_NAME_BYTES`` bytes (a long key keeps its start and extension and gets a hash
    of the whole key, so two long keys still get different names).
    """
    parts = [_UNSAFE.sub("_", seg) for seg in key.split("/") if seg]
    parts = ["_" * len(p) if p in (".", "..") else p for p in parts]
    name = FLAT_SEP.join(parts) or "_"
    if name in (".", ".."):
        name = "_" * len(name)
    if len(name.encode("utf-8")) > _MAX_NAME_BYTES:
        stem, ext = _split_ext(name)
        ext = ext if len(ext.encode("utf-8")) <= 16 else ""
        digest = hashlib.sha1(key.encode("utf-8", "surrogatepass")).hexdigest()[:12]
        budget = _MAX_NAME_BYTES - len(ext.encode("utf-8")) - len(digest) - 1
        head = stem.encode("utf-8")[:budget].decode("utf-8", "ignore")
        name = f"{head}-{digest}{ext}"
    return name


def _split_ext(name: str) -> Tuple[str, str]:
    dot = name.rfind(".")
    return (name[:dot], name[dot:]) if dot > 0 else (name, "")


class _Names:
    """Hands out file names in DIR, unique in this run (case-insensitively) and never an input's."""

    def __init__(self, out_dir: Path, inputs: Sequence[Path]):
        self.out_dir = out_dir.resolve()
        self.taken: Set[str] = {n.lower() for n in RESERVED}
        # Inputs that live in DIR block their exact name and, in RULE mode (where the
        # extension is only known after running), their stem.
        self.input_names = {p.resolve().name.lower() for p in inputs
                            if p.resolve().parent == self.out_dir}
        self.input_stems = {_split_ext(n)[0] for n in self.input_names}

    def claim(self, name: str) -> str:
        stem, ext = _split_ext(name)
        return self._first_free(stem, ext, self.input_names)

    def claim_stem(self, stem: str) -> str:
        """A base name whose ``<base>.<anything>`` cannot clash (RULE mode, one rule)."""
        return self._first_free(stem, "", self.input_stems)

    def _first_free(self, stem: str, ext: str, blocked: Set[str]) -> str:
        n, candidate = 1, stem + ext
        while candidate.lower() in self.taken or candidate.lower() in blocked:
            n += 1
            candidate = f"{stem}-{n}{ext}"
        self.taken.add(candidate.lower())
        return candidate


# --- what to run -------------------------------------------------------------------------

def parse_rule(text: str) -> Rule:
    """The parsed RULE argument, or a usage error carrying the grammar's message."""
    try:
        rule = parse(text)
    except GrammarError as e:
        hint = ""
        if Path(text).is_file():
            hint = " (it is a file: did you forget the RULE argument, or --route?)"
        raise click.UsageError(f"invalid rule {text!r}: {e.message}{hint}") from None
    if len(rule.stages) > CI_MAX_STAGES:
        raise click.UsageError(f"invalid rule {text!r}: {len(rule.stages)} stages; CI allows "
                               f"at most {CI_MAX_STAGES}")
    return rule


def _load_routes(prefix: str, path: Optional[Path]) -> List[Route]:
    missing = config_not_found(path or default_config_path(), path is not None)
    if missing:
        raise click.UsageError(missing)
    path = path or default_config_path()
    try:
        config: Config = load_config(str(path))
    except ConfigError as e:
        lines = "\n".join(f"  {p}" for p in e.problems)
        raise click.UsageError(f"{path}: invalid config:\n{lines}") from None
    routes = [r for r in config.routes if r.prefix == prefix]
    if not routes:
        known = ", ".join(repr(r.prefix) for r in config.routes)
        raise click.UsageError(f"{path} has no route with prefix {prefix!r} "
                               f"(its prefixes: {known})")
    return routes


def _route_for(routes: List[Route], key: str) -> Tuple[Optional[Route], str]:
    """The route (of those sharing the prefix) that takes ``key``, and a note for the user."""
    matching = [r for r in routes if r.matches(key)]
    if matching:
        return matching[0], ""
    if len(routes) == 1:
        # Asked for by name: run it anyway, but say COS would not.
        suffixes = ", ".join(routes[0].suffixes or ())
        return routes[0], (f"note: in COS this route would skip the key \u201c{key}\u201d: "
                           f"its suffixes are {suffixes}")
    return None, (f"NoRoute: no route with prefix \u201c{routes[0].prefix}\u201d takes the "
                  f"key \u201c{key}\u201d (their suffixes do not match)")


def _plan(images: List[Path], out_dir: Path, rule: Optional[Tuple[str, Rule]],
          routes: Optional[List[Route]], prefix: str) -> List[SourceResult]:
    names = _Names(out_dir, images)
    sources = []
    for image in images:
        src = SourceResult(path=image)
        sources.append(src)
        if rule is not None:
            src.derivatives.append(Derivative(rule=rule[0], parsed=rule[1],
                                              base=names.claim_stem(image.stem or "image")))
            continue
        key = prefix + image.name
        route, note = _route_for(routes, key)
        if route is None:
            src.error = note
            continue
        src.note = note
        for spec in route.rules:
            d = Derivative(rule=spec.rule, parsed=spec.parsed)
            src.derivatives.append(d)
            try:
                d.key = routing.output_key(spec.fileid, key)
            except OutputKeyError as e:
                d.error = _describe(e)
                continue
            d.path = out_dir / names.claim(flat_name(d.key))
    return sources


# --- running -----------------------------------------------------------------------------

def _describe(e: PicopsError) -> str:
    return f"{e.code}: {e.message}"


def _record(d: Derivative, out, out_dir: Path) -> None:
    if d.path is None:
        d.path = out_dir / f"{d.base}.{out.format}"
    try:
        d.path.write_bytes(out.data)
    except OSError as e:
        d.error = f"WriteError: cannot write {d.path}: {e.strerror}"
        return
    d.format, d.width, d.height = out.format, out.width, out.height
    d.size, d.quality, d.frames = out.size, out.quality, out.frame_count


def _run(sources: List[SourceResult], out_dir: Path, err: Console,
         assets: Optional[Path] = None) -> None:
    """Probe every source and run its rules on a thread pool, writing outputs as they come.

    ``watermark/1`` images are read from ``assets``, else from each source's own folder.
    """
    _read(sources)
    total = sum(len(s.derivatives) for s in sources)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        console=err, transient=True, disable=total <= 1)
    workers = max(1, min(os.cpu_count() or 1, 8))
    with progress, ThreadPoolExecutor(max_workers=workers) as pool:
        _Jobs(pool, progress, progress.add_task("preview", total=total), out_dir,
              assets).run(sources)
    for src in sources:
        src.data = None


def _read(sources: List[SourceResult]) -> None:
    """Each source's bytes, or its ``ReadError``."""
    for src in sources:
        if src.error:
            continue
        try:
            src.data = src.path.read_bytes()
        except OSError as e:
            src.error = f"ReadError: cannot read {src.path}: {e.strerror}"


class _Jobs:
    """The engine's work for one preview: a probe per source, then, once it is read, a job
    per rule; every rule advances the progress bar once, done or failed."""

    def __init__(self, pool: ThreadPoolExecutor, progress: Progress, task: TaskID,
                 out_dir: Path, assets: Optional[Path]):
        from picops_emulator import imaging  # deferred: pyvips loads only when preview runs

        self._imaging = imaging
        self._pool, self._progress, self._task = pool, progress, task
        self._out_dir, self._assets = out_dir, assets
        self._pending: Dict[Future, Tuple[SourceResult, Optional[Derivative]]] = {}

    def run(self, sources: List[SourceResult]) -> None:
        for src in sources:
            if src.error:
                self._progress.advance(self._task, len(src.derivatives))
            else:
                self._submit(src, None, self._imaging.probe, src.data)
        while self._pending:
            done, _ = wait(self._pending, return_when=FIRST_COMPLETED)
            for fut in done:
                src, d = self._pending.pop(fut)
                if d is None:
                    self._probed(src, fut)
                else:
                    self._executed(src, d, fut)

    def _submit(self, src: SourceResult, d: Optional[Derivative], fn: Any, *args: Any,
                **kwargs: Any) -> None:
        self._pending[self._pool.submit(fn, *args, **kwargs)] = (src, d)

    def _probed(self, src: SourceResult, fut: Future) -> None:
        """A probe ended: start the source's rules, or fail the whole source."""
        from picops_emulator.imaging.watermark_fetch import directory_fetcher

        try:
            src.info = fut.result()
        except PicopsError as e:
            src.error = _describe(e)
            self._progress.advance(self._task, len(src.derivatives))
            return
        fetch = directory_fetcher(self._assets if self._assets is not None else
                                  src.path.parent)
        for d in src.derivatives:
            if d.error:
                self._progress.advance(self._task)
            else:
                self._submit(src, d, self._imaging.execute, d.parsed, src.data, fetch=fetch)

    def _executed(self, src: SourceResult, d: Derivative, fut: Future) -> None:
        """A rule ended: its output written, or its error kept."""
        try:
            _record(d, fut.result(), self._out_dir)
        except PicopsError as e:
            d.error = _describe(e)
        self._progress.update(self._task, advance=1, description=src.path.name)


# --- showing -----------------------------------------------------------------------------

def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path.resolve())


def _source_title(src: SourceResult) -> str:
    info = src.info
    size = src.path.stat().st_size
    bits = [f"{info.format} {info.width}x{info.height}"]
    if info.frame_count > 1:
        bits[0] += f" ({info.frame_count} frames)"
    bits += [f"{size} bytes", f"q{info.quality}"]
    if info.orientation not in (0, 1):
        bits.append(f"EXIF orientation {info.orientation}")
    return f"{_shown(src.path)}: " + ", ".join(bits)


def _table(src: SourceResult, route_mode: bool) -> Table:
    table = Table(title=_source_title(src), title_justify="left", box=box.SIMPLE_HEAD,
                  title_style="bold")
    table.add_column("rule", overflow="fold")
    if route_mode:
        table.add_column("COS key", overflow="fold")
    table.add_column("output file", overflow="fold")
    table.add_column("format")
    table.add_column("WxH", no_wrap=True)
    table.add_column("bytes", justify="right")
    table.add_column("quality", justify="right")
    for d in src.derivatives:
        key = [d.key or ""] if route_mode else []
        if d.error:
            code = d.error.split(":", 1)[0]
            table.add_row(d.rule, *key, Text(f"failed: {code} (below)", style="red"),
                          "", "", "", "")
            continue
        wxh = f"{d.width}x{d.height}" + (f" ({d.frames} frames)" if d.frames > 1 else "")
        table.add_row(d.rule, *key, d.path.name, d.format, wxh, str(d.size),
                      "-" if d.quality is None else str(d.quality))
    return table


def page_rows(sources: List[SourceResult]) -> List[gallery.Row]:
    """The gallery rows for a preview run: each original, then its derivatives in rule order."""
    rows = []
    for src in sources:
        info = src.info
        original = gallery.Picture(
            path=src.path, label=src.path.name, size=src.path.stat().st_size,
            format=info.format.lower() if info else "", width=info and info.width,
            height=info and info.height, quality=info and info.quality,
            frames=info and info.frame_count, detail="original", error=src.error)
        # route mode: the COS key the upload's output would have, not the local file name
        derivatives = [] if src.error else [gallery.Picture(
            path=d.path or Path(), label=d.key or (d.path.name if d.path else "(none)"),
            format=d.format, width=d.width or None, height=d.height or None,
            size=None if d.error else d.size, quality=d.quality, frames=d.frames,
            detail=d.rule, error=d.error) for d in src.derivatives]
        rows.append(gallery.Row(original=original, derivatives=derivatives))
    return rows


def tally(sources: List[SourceResult]) -> Tuple[int, int, int]:
    """(derivatives made, rule runs failed, images unreadable)."""
    made = sum(1 for s in sources if not s.error for d in s.derivatives if not d.error)
    failed = sum(1 for s in sources if not s.error for d in s.derivatives if d.error)
    return made, failed, sum(1 for s in sources if s.error)


def _failures(failed: int, unreadable: int) -> List[str]:
    """What went wrong, in the words the page and the terminal's last line both use."""
    return ([f"{failed} rule run(s) failed"] if failed else []) + \
        ([f"{unreadable} image(s) unreadable"] if unreadable else [])


def page_summary(sources: List[SourceResult]) -> str:
    """One line for the page: images, derivatives made, what failed."""
    made, failed, unreadable = tally(sources)
    return ", ".join([f"{len(sources)} image(s), {made} derivative(s) made"]
                     + _failures(failed, unreadable))


def _console(stderr: bool = False) -> Console:
    # No markup or emoji codes: file names and rules are shown exactly as they are.
    return report_console(stderr, highlight=False, markup=False, emoji=False)


# --- the command -------------------------------------------------------------------------

@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("args", nargs=-1, required=True, metavar="[RULE] IMAGE...")
@click.option("--route", "prefix", default=None, metavar="PREFIX",
              help="run every rule of the config's route with this exact prefix (instead of "
                   "RULE); outputs are named by the route's fileids")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="routes config for --route (default: $PICOPS_CONFIG, else "
                                 "functions/image_processor/picops.yaml)")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=DEFAULT_OUT, show_default=True, metavar="DIR",
              help="where the derivatives (and the --html page) go")
@click.option("--assets", "assets", type=click.Path(exists=True, file_okay=False,
                                                     path_type=Path),
              default=None, metavar="DIR",
              help="folder holding the watermark/1 images, found by their URL's key path "
                   "or file name [default: each image's own folder]")
@click.option("--html", "html", is_flag=True,
              help="also write DIR/index.html: each original beside its derivatives")
def preview(args: Tuple[str, ...], prefix: Optional[str], config_file: Optional[Path],
            out_dir: Path, assets: Optional[Path], html: bool) -> None:
    """Run RULE (or a config route's rules) on local IMAGEs with the emulator's engine.

    Writes the derivatives to DIR and prints, per image, each output's format, size in
    pixels and bytes, and quality. Exit status: 0 all done, 1 some image or rule failed
    (the others are still processed), 2 bad rule, config or arguments.
    """
    rule_text, images = _arguments(args, prefix, config_file)
    rule = (rule_text, parse_rule(rule_text)) if rule_text is not None else None
    routes = _load_routes(prefix, config_file) if prefix is not None else None

    out, err = _console(), _console(stderr=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    sources = _plan(images, out_dir, rule, routes, prefix or "")
    _run(sources, out_dir, err, assets)
    _print_results(sources, out, err, route_mode=prefix is not None)
    if html:
        title = f"picops preview: {rule_text}" if rule_text is not None else \
            f"picops preview: route \u201c{prefix}\u201d"
        index = gallery.write_page(page_rows(sources), out_dir, title, page_summary(sources))
        out.print(f"page: {index.resolve().as_uri()}", soft_wrap=True)
    if _print_summary(sources, out_dir, out, err):
        sys.exit(1)


def _arguments(args: Tuple[str, ...], prefix: Optional[str], config_file: Optional[Path]
               ) -> Tuple[Optional[str], List[Path]]:
    """(RULE or None in route mode, the IMAGEs), each image an existing file; usage errors
    otherwise."""
    if prefix is None:
        if len(args) < 2:
            raise click.UsageError("expected RULE IMAGE... (or --route PREFIX IMAGE...)")
        rule_text, images_args = args[0], args[1:]
    else:
        rule_text, images_args = None, args
        if config_file is not None and not config_file.is_file():
            raise click.UsageError(f"config {config_file} does not exist")
    images = [Path(a) for a in images_args]
    for image in images:
        if not image.is_file():
            what = "is not a file" if image.exists() else "does not exist"
            raise click.UsageError(f"image {image} {what}")
    return rule_text, images


def _print_results(sources: List[SourceResult], out: Console, err: Console,
                   route_mode: bool) -> None:
    """Per source: its table on stdout, then a line per failed rule; an unreadable source
    or a route note as a line on stderr."""
    for src in sources:
        if src.error:
            err.print(Text(f"error: {_shown(src.path)}: {src.error}", style="red"),
                      soft_wrap=True)
            continue
        if src.note:
            err.print(Text(f"{_shown(src.path)}: {src.note}", style="yellow"),
                      soft_wrap=True)
        out.print(_table(src, route_mode=route_mode))
        for d in src.derivatives:
            if d.error:
                # Own line, not a table cell: engine messages are long and would squeeze
                # every other column.
                out.print(Text(f"  failed: {d.rule}: {d.error}", style="red"),
                          soft_wrap=True)


def _print_summary(sources: List[SourceResult], out_dir: Path, out: Console,
                   err: Console) -> bool:
    """The last line (stdout, or stderr when anything failed); True when anything failed."""
    made, failed_rules, bad_images = tally(sources)
    failures = _failures(failed_rules, bad_images)
    summary = "; ".join([f"{made} output(s) written to {_shown(out_dir)}"] + failures)
    (err if failures else out).print(summary, soft_wrap=True)
    return bool(failures)
