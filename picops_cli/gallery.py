"""One static HTML page showing each original beside its derivatives.

Used by ``picops demo`` and ``picops preview --html``. Contract:

* ``write_page(rows, out_dir, title, summary)`` writes ``out_dir/index.html`` and returns
  its path; ``summary`` is one line under the title (counts, failures).
* The page is self-contained in ``out_dir``: a picture already inside ``out_dir`` (outside
  its ``img/`` folder) is referenced where it is; every other picture is copied into
  ``out_dir/img/`` (rebuilt on each call). Every ``src`` is a relative, percent-encoded
  URL, so the folder can be opened from disk, zipped or served by anything, and keys with
  ``#``, ``?``, ``%``, spaces or CJK in them still load.
* Formats a browser cannot show (HEIF, TIFF, ...) get a labelled placeholder instead of a
  broken ``<img>``; a derivative that failed (``Picture.error``) gets a placeholder with its
  rule and the error. So the page's ``<img>`` count is exactly the viewable pictures, which
  the page tests (tests/browser/) check in a real browser.
* Each ``<figure>`` carries ``data-role="original"`` or ``"derivative"`` for those tests.
* A rule under a picture is shown with its long Base64 values (watermark URLs and texts,
  colours) cut to their first characters and an ellipsis (:func:`short_rule`), so one
  caption stays a few lines long; the full rule is the ``<code>`` element's tooltip
  (``title``).
"""

import html
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence
from urllib.parse import quote

# A run of URL-safe Base64 this long is a payload, not a parameter name or a number.
_LONG_TOKEN = re.compile(r"[A-Za-z0-9_=-]{17,}")
_KEEP_CHARS = 10

# Chromium decodes these; anything else is listed but not <img>-embedded.
BROWSER_FORMATS = {"jpg", "jpeg", "png", "gif", "webp", "avif", "bmp"}

ASSET_DIR = "img"
PAGE_NAME = "index.html"


@dataclass
class Picture:
    """One image on the page: where its bytes are, and the numbers to show under it."""

    path: Path
    label: str
    format: str = ""
    width: Optional[int] = None
    height: Optional[int] = None
    size: Optional[int] = None
    quality: Optional[int] = None
    detail: str = ""  # e.g. the rule that produced it
    frames: Optional[int] = None  # shown when > 1 (animations)
    error: str = ""  # a derivative that could not be made: no image, this message instead


@dataclass
class Row:
    original: Picture
    derivatives: List[Picture] = field(default_factory=list)
    error: str = ""  # shown instead of derivatives when processing failed


def _caption(p: Picture) -> str:
    bits = []
    if p.format:
        bits.append(p.format.upper())
    if p.width and p.height:
        bits.append(f"{p.width}×{p.height}")
    if p.frames and p.frames > 1:
        bits.append(f"{p.frames} frames")
    if p.size is not None:
        bits.append(human_size(p.size))
    if p.quality is not None:
        bits.append(f"q{p.quality}")
    return " · ".join(bits)


def short_rule(rule: str) -> str:
    """``rule`` with every Base64-looking value of 17+ characters cut to 10 and ``…``."""
    return _LONG_TOKEN.sub(lambda m: m.group()[:_KEEP_CHARS] + "…", rule)


def human_size(n: float) -> str:
    """``512 B``, ``37.3 KB``, ``2.6 MB`` (binary units, as file managers show them)."""
    for unit in ("B", "KB", "MB"):
        if n < 1024 or unit == "MB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover - the loop always returns


def _figure(p: Picture, src: Optional[str], role: str) -> str:
    fmt = (p.format or p.path.suffix.lstrip(".")).lower()
    if p.error:
        media = '<div class="nopreview failed">failed</div>'
    elif src is None:
        media = '<div class="nopreview failed">file missing</div>'
    elif fmt in BROWSER_FORMATS:
        media = f'<img src="{html.escape(src)}" alt="{html.escape(p.label)}" loading="eager">'
    else:
        media = (f'<div class="nopreview">{html.escape(fmt.upper() or "?")}<br>'
                 f'not viewable in a browser</div>')
    name = (f'<a href="{html.escape(src)}">{html.escape(p.label)}</a>' if src is not None
            else html.escape(p.label))
    lines = [name]
    caption = _caption(p)
    if caption:
        lines.append(html.escape(caption))
    if p.detail:
        shown = short_rule(p.detail)
        tip = f' title="{html.escape(p.detail)}"' if shown != p.detail else ""
        lines.append(f'<code{tip}>{html.escape(shown)}</code>')
    if p.error:
        lines.append(f'<span class="error">{html.escape(p.error)}</span>')
    css = ' class="original"' if role == "original" else ""
    return (f'<figure data-role="{role}"{css}>{media}<figcaption>{"<br>".join(lines)}'
            f'</figcaption></figure>')


CSS = """
body{font-family:system-ui,sans-serif;margin:1.5rem;background:#f6f6f4;color:#222}
h1{font-size:1.3rem} h2{font-size:1rem;margin:0 0 .6rem}
section{background:#fff;border-radius:8px;padding:1rem;margin:1rem 0;box-shadow:0 1px 3px #0002}
.row{display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-start}
figure{margin:0;max-width:220px} img{max-width:220px;max-height:220px;display:block;
background:repeating-conic-gradient(#ddd 0 25%,#fff 0 50%) 0 0/16px 16px}
figcaption{font-size:.8rem;margin-top:.3rem;overflow-wrap:anywhere}
code{font-size:.75rem;white-space:pre-wrap;overflow-wrap:anywhere;word-break:break-all}
.summary{margin:.2rem 0 1rem;font-weight:600}
.original{border-right:2px solid #ccc;padding-right:1rem} .error{color:#a00;font-weight:600}
.nopreview{width:160px;height:100px;display:flex;align-items:center;justify-content:center;
text-align:center;background:#eee;color:#666;font-size:.8rem} .failed{background:#fbe9e9;color:#a00}
"""


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def _url(rel: Path) -> str:
    return "/".join(quote(part) for part in rel.parts)


def _asset_name(counter: int, p: Picture) -> str:
    fmt = (p.format or "").lower()
    suffix = f".{'jpg' if fmt == 'jpeg' else fmt}" if fmt else (p.path.suffix.lower() or ".bin")
    return f"{counter:03d}{suffix}"


def write_page(rows: Sequence[Row], out_dir: Path, title: str, summary: str = "") -> Path:
    """Write ``out_dir/index.html`` for ``rows`` (see the module docstring); return its path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    img_dir = out_dir / ASSET_DIR
    # Copies go to a fresh folder first and replace img/ only at the end, so a picture
    # that itself lives in an old img/ is read before that folder goes away.
    staging = out_dir / f".{ASSET_DIR}.new"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    srcs: Dict[int, Optional[str]] = {}
    counter = 0
    for row in rows:
        for pic in [row.original, *row.derivatives]:
            if pic.error or not pic.path.is_file():
                srcs[id(pic)] = None
            elif _inside(pic.path, out_dir) and not _inside(pic.path, img_dir):
                srcs[id(pic)] = _url(pic.path.resolve().relative_to(out_dir.resolve()))
            else:
                counter += 1
                name = _asset_name(counter, pic)
                shutil.copy2(pic.path, staging / name)
                srcs[id(pic)] = f"{ASSET_DIR}/{quote(name)}"
    if img_dir.exists():
        shutil.rmtree(img_dir)
    staging.rename(img_dir)

    sections = []
    for row in rows:
        figures = [_figure(row.original, srcs[id(row.original)], "original")]
        figures += [_figure(d, srcs[id(d)], "derivative") for d in row.derivatives]
        if row.error:
            figures.append(f'<p class="error">{html.escape(row.error)}</p>')
        sections.append(f'<section><h2>{html.escape(row.original.label)}</h2>'
                        f'<div class="row">{"".join(figures)}</div></section>')
    summary_html = f'<p class="summary">{html.escape(summary)}</p>' if summary else ""
    page = (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f'<title>{html.escape(title)}</title><style>{CSS}</style></head><body>'
            f'<h1>{html.escape(title)}</h1>{summary_html}{"".join(sections)}</body></html>')
    index = out_dir / PAGE_NAME
    index.write_text(page, encoding="utf-8")
    return index
