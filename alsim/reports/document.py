"""A small report document rendered both as Markdown and as self-contained HTML.

A report is a list of blocks (headings, paragraphs, bullet lists, tables, images, code blocks). Writing the structure
once and rendering it twice keeps the two formats identical without a Markdown parser dependency. Inline
text may use ``code`` spans in backticks and ``**bold**``, rendered as ``<code>`` / ``<strong>`` in HTML.

Text often comes from the results (dataset names read from a file, a title given on the command line), so
both renderings escape it: HTML with :func:`html.escape`, Markdown by writing ``& < >`` as entities and
``[ ]`` with a backslash (Markdown passes raw HTML through to the page, and a bracket could start a link; a
code span holding such characters is written as escaped plain text), and by keeping a line break from
starting a new block.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["Document"]

_CODE_SPAN = re.compile(r"`([^`]+)`")
_STRONG = re.compile(r"\*\*(.+?)\*\*")

_STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 1200px;
       margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { border-bottom: 2px solid #ddd; padding-bottom: .3em; }
h2 { border-bottom: 1px solid #eee; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
th { background: #f3f3f3; }
td:first-child, th:first-child { text-align: left; }
tr:nth-child(even) td { background: #fafafa; }
img { max-width: 100%; border: 1px solid #eee; margin: .5em 0; }
code { background: #f3f3f3; padding: 0 3px; border-radius: 3px; }
figcaption { color: #555; font-size: 0.9em; }
"""


@dataclass(frozen=True)
class _Heading:
    level: int
    text: str


@dataclass(frozen=True)
class _Paragraph:
    text: str


@dataclass(frozen=True)
class _Bullets:
    items: list[str]


@dataclass(frozen=True)
class _Table:
    header: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class _Image:
    path: str
    caption: str


@dataclass(frozen=True)
class _Code:
    text: str
    language: str


_Block = _Heading | _Paragraph | _Bullets | _Table | _Image | _Code


@dataclass
class Document:
    """Blocks of a report, rendered by :meth:`to_markdown` and :meth:`to_html`.

    Examples
    --------
    >>> doc = Document("Demo")
    >>> doc.heading("Results", level=2)
    >>> doc.table(["strategy", "AULC"], [["margin", "0.81"]])
    >>> print(doc.to_markdown().splitlines()[4])
    | strategy | AULC |
    """

    title: str
    blocks: list[_Block] = field(default_factory=list)

    def heading(self, text: str, *, level: int = 2) -> None:
        """Add a section heading (``level`` 2 is a top-level section)."""
        self.blocks.append(_Heading(level, text))

    def paragraph(self, text: str) -> None:
        """Add a paragraph of text."""
        self.blocks.append(_Paragraph(text))

    def bullets(self, items: Sequence[str]) -> None:
        """Add a bulleted list (nothing when ``items`` is empty)."""
        if items:
            self.blocks.append(_Bullets(list(items)))

    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        """Add a table of already formatted cells."""
        self.blocks.append(_Table(list(header), [list(r) for r in rows]))

    def image(self, path: str, caption: str) -> None:
        """Add an image referenced by ``path`` relative to the report file."""
        self.blocks.append(_Image(path, caption))

    def code(self, text: str, *, language: str = "") -> None:
        """Add a block of code shown as written (a command to run: ``language="bash"``).

        Examples
        --------
        >>> doc = Document("Demo")
        >>> doc.code("alsim report runs/demo", language="bash")
        >>> print(doc.to_markdown().splitlines()[2:5])
        ['```bash', 'alsim report runs/demo', '```']
        """
        self.blocks.append(_Code(text, language))

    # ------------------------------------------------------------------------------------------- render

    def to_markdown(self) -> str:
        """Render the document as Markdown."""
        lines = [f"# {_md_inline(self.title)}", ""]
        for block in self.blocks:
            if isinstance(block, _Heading):
                lines += ["#" * block.level + " " + _md_inline(block.text), ""]
            elif isinstance(block, _Paragraph):
                lines += [_md_inline(block.text), ""]
            elif isinstance(block, _Bullets):
                lines += [f"- {_md_inline(item)}" for item in block.items] + [""]
            elif isinstance(block, _Table):
                lines.append("| " + " | ".join(_md_cell(h) for h in block.header) + " |")
                lines.append("|" + "|".join(":---" if i == 0 else "---:" for i in range(len(block.header))) + "|")
                lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
                lines.append("")
            elif isinstance(block, _Code):
                # Longer than any run of backticks in the text, so the text cannot close the fence.
                fence = "`" * max(3, 1 + max((len(run) for run in re.findall("`+", block.text)), default=0))
                lines += [f"{fence}{block.language}", *block.text.splitlines(), fence, ""]
            else:
                caption = _md_inline(block.caption)
                # Figure paths are the writer's own slugs (letters, digits, "_.-"), never text from the results.
                lines += [f"![{caption}]({block.path})", "", f"*{caption}*", ""]
        return "\n".join(lines).rstrip() + "\n"

    def to_html(self) -> str:
        """Render the document as a standalone HTML page."""
        parts = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{html.escape(self.title)}</title>",
            f"<style>{_STYLE}</style></head><body>",
            f"<h1>{_inline(self.title)}</h1>",
        ]
        for block in self.blocks:
            if isinstance(block, _Heading):
                anchor = re.sub(r"[^a-z0-9]+", "-", block.text.lower()).strip("-")
                parts.append(f'<h{block.level} id="{anchor}">{_inline(block.text)}</h{block.level}>')
            elif isinstance(block, _Paragraph):
                parts.append(f"<p>{_inline(block.text)}</p>")
            elif isinstance(block, _Bullets):
                parts.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in block.items) + "</ul>")
            elif isinstance(block, _Table):
                head = "".join(f"<th>{_inline(h)}</th>" for h in block.header)
                body = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in block.rows)
                parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
            elif isinstance(block, _Code):
                parts.append(f"<pre><code>{html.escape(block.text)}</code></pre>")
            else:
                parts.append(
                    f'<figure><img src="{html.escape(block.path, quote=True)}" '
                    f'alt="{html.escape(block.caption, quote=True)}">'
                    f"<figcaption>{_inline(block.caption)}</figcaption></figure>"
                )
        parts.append("</body></html>")
        return "\n".join(parts) + "\n"


def _md_cell(text: str) -> str:
    return _md_inline(text).replace("|", "\\|")


_MD_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "[": "\\[", "]": "\\]"}


def _md_inline(text: str) -> str:
    """Markdown for one line of inline text: raw HTML and link brackets escaped outside code spans."""
    one_line = " ".join(str(text).splitlines())
    parts = []
    last = 0
    for match in _CODE_SPAN.finditer(one_line):
        parts.append(_md_escape(one_line[last : match.start()]))
        content = match.group(1)
        # A code span shows its content literally, but a name holding markup is written as escaped plain
        # text: how a renderer delimits code spans (and whether it honours them at all) varies.
        parts.append(_md_escape(content) if any(char in _MD_ESCAPES for char in content) else match.group(0))
        last = match.end()
    parts.append(_md_escape(one_line[last:]))
    return "".join(parts)


def _md_escape(text: str) -> str:
    return "".join(_MD_ESCAPES.get(char, char) for char in text)


def _inline(text: str) -> str:
    """HTML-escape ``text``; backtick spans become ``<code>`` and ``**double stars**`` ``<strong>``."""
    escaped = _CODE_SPAN.sub(lambda m: f"<code>{m.group(1)}</code>", html.escape(str(text)))
    return _STRONG.sub(lambda m: f"<strong>{m.group(1)}</strong>", escaped)
