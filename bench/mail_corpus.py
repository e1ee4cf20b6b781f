"""Mail parser against other helpdesks' test mail: `python -m bench.mail_corpus`.

Reads the public raw-mail corpora of Zammad, RT, django-helpdesk and Webklex/php-imap from
`--corpus` (default `../shared/corpora/mail` beside the project; the files are never copied into
the project) and runs every mail through two parsers in the same process:

* ours: `channels.email.parse.parse_mail`;
* stdlib: `email.parser.BytesParser(policy=policy.default)`, subject = `msg["subject"]`, sender =
  the first address of `msg["from"]`, body = `msg.get_body(("plain", "html")).get_content()`
  (HTML turned into text as below; no body part = empty body).

It reports:

1. per corpus: mails, crashes (ours: any exception but `MailRefused`; stdlib: any exception in
   the steps above) and refusals (`MailRefused`; the stdlib never refuses);
2. agreement with Zammad's expected parse (`mailNNN.yml` beside `mailNNN.box`; read with PyYAML
   if installed, else with `MiniYaml`, which reads just the top-level scalars):
   - subject: equal after collapsing whitespace;
   - sender address: equal ignoring case; display name: equal after collapsing whitespace
     (missing = empty);
   - body: Zammad's body (HTML when its content_type is text/html, or when it gives none and the
     body has tags; reduced to text with BeautifulSoup) against our `full_text` (stdlib: its
     body). Both are compared as sequences of words, CJK characters and punctuation marks, so
     whitespace does not count (HTML-to-text and text/plain break lines in different places).
     "contained" = the expected sequence occurs in ours; "agrees" = contained, or a
     difflib.SequenceMatcher ratio >= 0.9 between the sequences. Zammad's "no visible content"
     is an empty body and agrees only with an empty body.
   A crash or refusal disagrees on every field. A few of Zammad's expectations are wrong (UTF-7
   left undecoded, a mojibake name); they still count and are marked in `--details`;
3. CJK mail: a declared charset (Content-Type parameter, RFC 2231 parameter or RFC 2047 word,
   anywhere in the raw mail) of the GB, Big5, Japanese or Korean families, or CJK characters in
   either parser's subject or body. "Cleanly decoded" = subject and body hold no U+FFFD and no
   mojibake marker: C1 control characters; UTF-8 read as Latin-1/cp1252 ("Ã©", "â€", "ï»¿");
   GBK/Big5 read as Latin-1 (a run of 3+ Latin-1 letters and signs holding a sign, "Ö÷Ìâ£º");
   UTF-8 read as GBK ("锟斤拷", "锛", "銆", "鈥"); an ISO-2022 escape left undecoded (ESC); and,
   in mail declaring a Japanese charset, Shift_JIS read as GBK (kana-less text whose GB18030
   bytes decode as cp932 to kana: "僣乕儖" is "ツール"). Text decoded in a wrong CJK charset that
   leaves none of these marks (KOI8-R read as GBK, say) is not caught;
4. throughput: mails per second over the whole corpus, best of `--rounds` passes, each parser
   doing exactly the work it is judged on above.

`--json OUT` also writes all numbers, the failures and every disagreement.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from difflib import SequenceMatcher
from email import policy
from email.parser import BytesParser
from pathlib import Path

from bs4 import BeautifulSoup

from channels.email.parse import MailRefused, parse_mail

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = PROJECT_ROOT / ".." / "shared" / "corpora" / "mail"
NOT_MAIL = {"README.md", "expected.json"}
NOT_MAIL_SUFFIXES = {".yml", ".json"}
SIMILAR = 0.9
NO_VISIBLE_CONTENT = "no visible content"


# --- the corpus -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mail:
    corpus: str  # top-level folder: zammad, rt, ...
    name: str  # path below the corpus folder
    raw: bytes

    @property
    def label(self) -> str:
        return f"{self.corpus}/{self.name}"


def load_corpus(root: Path) -> list[Mail]:
    """Every raw mail below `root`, corpus by corpus; expectations and read-mes are skipped."""
    mails = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        for path in sorted(folder.rglob("*")):
            if (
                path.is_file()
                and path.name not in NOT_MAIL
                and path.suffix not in NOT_MAIL_SUFFIXES
            ):
                name = path.relative_to(folder).as_posix()
                mails.append(Mail(folder.name, name, path.read_bytes()))
    return mails


# --- the two parsers --------------------------------------------------------------------------


@dataclass
class Result:
    subject: str = ""
    from_email: str | None = None
    from_name: str | None = None
    body: str = ""
    crash: str | None = None  # "ExceptionType: message"
    refused: str | None = None

    @property
    def ok(self) -> bool:
        return self.crash is None and self.refused is None


def run_ours(raw: bytes) -> Result:
    try:
        parsed = parse_mail(raw)
    except MailRefused as exc:
        return Result(refused=exc.reason)
    except Exception as exc:
        return Result(crash=f"{type(exc).__name__}: {exc}")
    return Result(parsed.subject, parsed.from_email, parsed.from_name, parsed.full_text)


def run_stdlib(raw: bytes) -> Result:
    try:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        subject = str(msg["subject"] or "")
        header = msg["from"]
        addresses = getattr(header, "addresses", ()) if header is not None else ()
        address = addresses[0] if addresses else None
        part = msg.get_body(("plain", "html"))
        body = part.get_content() if part is not None else ""
        if part is not None and part.get_content_type() == "text/html":
            body = html_text(body)
    except Exception as exc:
        return Result(crash=f"{type(exc).__name__}: {exc}")
    return Result(
        subject=subject,
        from_email=address.addr_spec if address else None,
        from_name=address.display_name if address else None,
        body=body,
    )


PARSERS: dict[str, Callable[[bytes], Result]] = {"ours": run_ours, "stdlib": run_stdlib}


# --- Zammad's expectations --------------------------------------------------------------------


def read_yaml_scalars(text: str) -> dict[str, str | None]:
    """The top-level string values of one of Zammad's YAML dumps (nested values are dropped)."""
    try:
        import yaml
    except ImportError:
        return MiniYaml.top_level(text)

    class Loader(yaml.BaseLoader):  # BaseLoader: every scalar stays a string
        pass

    Loader.add_multi_constructor(
        "!ruby/hash:", lambda loader, _suffix, node: loader.construct_mapping(node, deep=True)
    )
    Loader.add_constructor("!binary", lambda loader, node: _unbase64(loader.construct_scalar(node)))
    data = yaml.load(text, Loader=Loader)
    return {k: v for k, v in data.items() if isinstance(v, str) or v is None}


def _unbase64(text: str) -> str:
    return base64.b64decode(text).decode("utf-8", errors="replace")


class MiniYaml:
    """Just enough YAML for the top-level scalars of a Psych dump: plain, 'single' and "double"
    quoted scalars folded over lines, literal blocks (|, |-, |+) and the !binary tag."""

    KEY = re.compile(r"([A-Za-z_][\w-]*):(?: (.*))?$")
    ESCAPES = {
        "0": "\0",
        "a": "\a",
        "b": "\b",
        "t": "\t",
        "\t": "\t",
        "n": "\n",
        "v": "\v",
        "f": "\f",
        "r": "\r",
        "e": "\x1b",
        " ": " ",
        '"': '"',
        "/": "/",
        "\\": "\\",
        "N": "\x85",
        "_": "\xa0",
        "L": "\u2028",
        "P": "\u2029",
    }
    HEX = {"x": 2, "u": 4, "U": 8}

    @classmethod
    def top_level(cls, text: str) -> dict[str, str | None]:
        values: dict[str, list[str]] = {}
        current: list[str] | None = None
        for line in text.removesuffix("\n").split("\n"):
            line = line.removesuffix("\r")
            key = cls.KEY.match(line)
            if key:
                current = values[key.group(1)] = [key.group(2) or ""]
            elif current is not None:
                current.append(line)
        return {key: cls.scalar(lines) for key, lines in values.items()}

    @classmethod
    def scalar(cls, lines: list[str]) -> str | None:
        first = lines[0].strip()
        if first.startswith("!binary"):
            inner = cls.scalar([first.removeprefix("!binary").strip(), *lines[1:]])
            return _unbase64(inner or "")
        if first.startswith("!"):  # a nested mapping or another tagged node: not a scalar
            return None
        if first[:1] in ("|", ">"):
            return cls.block(first, lines[1:])
        if first[:1] in ("'", '"'):
            text = "\n".join([first, *lines[1:]])
            return cls.flow(text[1:], double=first[0] == '"')
        if not first and any(line.lstrip().startswith("- ") for line in lines[1:]):
            return None  # a sequence
        value = cls.flow("\n".join([first, *lines[1:]]) + "\0", double=False, end="\0")
        return None if value in ("", "~", "null") else value

    @classmethod
    def flow(cls, text: str, double: bool, end: str | None = None) -> str:
        """A quoted (or, with `end`, plain) scalar from just after its opening quote."""
        quote = end or ('"' if double else "'")
        out: list[str] = []
        i = 0
        while i < len(text):
            ch = text[i]
            if ch == quote and not (quote == "'" and text[i + 1 : i + 2] == "'"):
                break
            if ch == "'" and quote == "'":
                out.append("'")
                i += 2
            elif ch == "\\" and double:
                i = cls._escape(text, i, out)
            elif ch in " \t\n":
                j = i
                while j < len(text) and text[j] in " \t":
                    j += 1
                if j < len(text) and text[j] == "\n":
                    breaks, j = cls._breaks(text, j + 1)
                    out.append(breaks or " ")
                else:
                    out.append(text[i:j])
                i = j
            else:
                out.append(ch)
                i += 1
        return "".join(out)

    @classmethod
    def _escape(cls, text: str, i: int, out: list[str]) -> int:
        code = text[i + 1]
        if code == "\n":  # an escaped line break joins the lines without a space
            breaks, j = cls._breaks(text, i + 2)
            out.append(breaks)
            return j
        if code in cls.HEX:
            digits = cls.HEX[code]
            out.append(chr(int(text[i + 2 : i + 2 + digits], 16)))
            return i + 2 + digits
        out.append(cls.ESCAPES.get(code, code))
        return i + 2

    @staticmethod
    def _breaks(text: str, i: int) -> tuple[str, int]:
        """Skip the indentation of folded lines; each empty line is one newline."""
        breaks = ""
        while True:
            while i < len(text) and text[i] in " \t":
                i += 1
            if i < len(text) and text[i] == "\n":
                breaks += "\n"
                i += 1
            else:
                return breaks, i

    @staticmethod
    def block(header: str, lines: list[str]) -> str:
        chomp = "-" if "-" in header else "+" if "+" in header else ""
        digits = re.findall(r"\d", header)
        indents = [len(ln) - len(ln.lstrip(" ")) for ln in lines if ln.strip()]
        indent = int(digits[0]) if digits else min(indents, default=0)
        content = [ln[indent:] for ln in lines]
        if header.startswith(">"):  # folded: approximated by joining adjacent lines with spaces
            content = re.sub(r"(?<=\S)\n(?=\S)", " ", "\n".join(content)).split("\n")
        text = "\n".join(content) + "\n"
        if chomp == "+":
            return text
        stripped = text.rstrip("\n")
        return stripped if chomp == "-" or not stripped else stripped + "\n"


@dataclass(frozen=True)
class Expectation:
    subject: str | None
    from_email: str | None
    from_name: str | None
    body: str | None  # as text; "" for "no visible content"


def load_expectations(zammad: Path) -> dict[str, Expectation]:
    """Zammad's expected parse of each mailNNN.box that has a mailNNN.yml, by mail name."""
    found = {}
    for path in sorted(zammad.glob("*.yml")):
        data = read_yaml_scalars(path.read_text(encoding="utf-8"))
        body = data.get("body")
        if body is not None:
            if body.strip() == NO_VISIBLE_CONTENT:
                body = ""
            elif _is_html(body, data.get("content_type")):
                body = html_text(body)
        found[path.with_suffix(".box").name] = Expectation(
            subject=data.get("subject"),
            from_email=data.get("from_email"),
            from_name=data.get("from_display_name"),
            body=body,
        )
    return found


def _is_html(body: str, content_type: str | None) -> bool:
    """Zammad's body is HTML when its content_type says so; some .yml files give none, and then
    a body with tags is taken as HTML."""
    if content_type:
        return content_type == "text/html"
    return bool(re.search(r"<(p|div|b|br|span|img|a|table)\b", body, re.I))


# --- comparing --------------------------------------------------------------------------------

_WHITESPACE = re.compile(r"[\s\u200b\ufeff]+")
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TOKEN = re.compile(f"[{_CJK}]|[^\\W{_CJK}]+|[^\\w\\s\u200b\ufeff]")
_BLOCKS = ["p", "div", "tr", "td", "th", "li", "table", "blockquote", "pre", "hr",
           "h1", "h2", "h3", "h4", "h5", "h6"]  # fmt: skip


def html_text(html: str) -> str:
    """The visible text of an HTML body: scripts, styles and the head dropped, a line break for
    each <br> and after each block element, inline elements joined without a break."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "head", "title"]):
        tag.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for block in soup.find_all(_BLOCKS):
        block.insert_after("\n")
    return soup.get_text()


def one_line(text: str | None) -> str:
    return _WHITESPACE.sub(" ", text or "").strip()


def tokens(text: str | None) -> list[str]:
    """Words, CJK characters and punctuation marks: text compared regardless of whitespace."""
    return _TOKEN.findall(text or "")


def similarity(a: list[str], b: list[str]) -> float:
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() < SIMILAR or matcher.quick_ratio() < SIMILAR:
        return matcher.quick_ratio()  # an upper bound, already too low
    return matcher.ratio()


def body_match(expected: str, got: str) -> str | None:
    """How the bodies agree: "contained", "similar", or None when they do not."""
    want, have = tokens(expected), tokens(got)
    if not want:
        return "contained" if not have else None
    if f" {' '.join(want)} " in f" {' '.join(have)} ":
        return "contained"
    return "similar" if similarity(want, have) >= SIMILAR else None


FIELDS = ("subject", "from_email", "from_name", "body")


def field_agrees(name: str, expected: str, result: Result) -> bool | str:
    """Whether `result` agrees with Zammad on one field; for the body, how ("contained",
    "similar") or False."""
    if not result.ok:
        return False
    if name == "subject":
        return one_line(expected) == one_line(result.subject)
    if name == "from_email":
        return expected.strip().lower() == (result.from_email or "").lower()
    if name == "from_name":
        return one_line(expected) == one_line(result.from_name)
    return body_match(expected, result.body) or False


# Expectations of Zammad's that are wrong or have no right answer: still counted, but marked.
ZAMMAD_DOUBTFUL = {
    ("mail018.box", "subject"): "Zammad leaves UTF-7 undecoded",
    ("mail018.box", "body"): "Zammad leaves UTF-7 undecoded",
    ("mail046.box", "from_name"): "Zammad's name is GBK mojibake",
    ("mail053.box", "from_email"): "no address in the From header",
    ("mail076.box", "from_email"): "the From header is broken",
    ("mail076.box", "from_name"): "the From header is broken",
    ("mail087.box", "from_email"): "header is 'Test test@example.com'",
    ("mail087.box", "from_name"): "header is 'Test test@example.com'",
}


@dataclass
class Disagreement:
    mail: str
    field: str
    expected: str
    got: str
    note: str = ""


@dataclass
class Agreement:
    compared: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))
    agreed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))
    body_contained: int = 0
    disagreements: list[Disagreement] = field(default_factory=list)


def compare_zammad(
    mails: Sequence[Mail], results: dict[str, list[Result]], expected: dict[str, Expectation]
) -> dict[str, Agreement]:
    """Field-by-field agreement of each parser with Zammad's expectations."""
    report = {name: Agreement() for name in results}
    for index, mail in enumerate(mails):
        want = expected.get(mail.name) if mail.corpus == "zammad" else None
        if want is None:
            continue
        for parser, agreement in report.items():
            result = results[parser][index]
            for name in FIELDS:
                value = getattr(want, name)
                if value is None:
                    continue
                agreement.compared[name] += 1
                verdict = field_agrees(name, value, result)
                if verdict:
                    agreement.agreed[name] += 1
                    agreement.body_contained += verdict == "contained"
                else:
                    got = result.crash or result.refused or _got(result, name)
                    note = ZAMMAD_DOUBTFUL.get((mail.name, name), "")
                    agreement.disagreements.append(Disagreement(mail.label, name, value, got, note))
    return report


def _got(result: Result, name: str) -> str:
    return str(getattr(result, name) or "")


# --- CJK --------------------------------------------------------------------------------------

_CHARSET = re.compile(
    rb"""charset\s*=\s*["']?([\w.:-]+)"""  # Content-Type parameter
    rb"|=\?([^?*\s]+)(?:\*[^?]*)?\?[bBqQ]\?"  # RFC 2047 encoded word
    rb"|\*=\s*[\"']?([\w.:-]+)'",  # RFC 2231 parameter
    re.I,
)
_CJK_CHARSET = re.compile(
    r"(^|[-_])gb|big5|2022-jp|euc-jp|shift.?jis|sjis|euc-kr|ks_c_5601|cp9(36|49|50)", re.I
)
_CJK_TEXT = re.compile(f"[{_CJK}]")
_CP1252_SIGNS = bytes(range(0x80, 0xA0)).decode("cp1252", errors="ignore")
_MOJIBAKE = re.compile(
    "\ufffd"  # replacement character
    "|[\x80-\x9f]"  # C1 controls: bytes read as Latin-1
    "|\x1b"  # an ISO-2022 escape left undecoded
    f"|ï»¿|â€|[ÃÂ][\xa0-\xbf{re.escape(_CP1252_SIGNS)}]"  # UTF-8 read as Latin-1 / cp1252
    "|锟斤拷|[锛銆鈥]"  # UTF-8 read as GBK
)
_JAPANESE = re.compile(r"2022-jp|euc-jp|shift.?jis|sjis|cp932", re.I)
_IDEOGRAPH = re.compile("[\u3400-\u4dbf\u4e00-\u9fff]")
_KANA = re.compile("[\u3040-\u30ff]")  # full-width hiragana and katakana
_LATIN1_RUN = re.compile("[\xa1-\xff]{3,}")
_LATIN1_SIGN = re.compile("[\xa1-\xbf\xd7\xf7]")


def declared_cjk_charsets(raw: bytes) -> set[str]:
    labels = {
        b"".join(m.groups(b"")).decode("ascii", "replace").lower() for m in _CHARSET.finditer(raw)
    }
    return {label for label in labels if _CJK_CHARSET.search(label)}


def is_cjk(mail: Mail, results: Iterable[Result]) -> bool:
    if declared_cjk_charsets(mail.raw):
        return True
    return any(_CJK_TEXT.search(r.subject) or _CJK_TEXT.search(r.body) for r in results)


def unclean(result: Result, japanese: bool = False) -> str | None:
    """Why a result is not cleanly decoded, or None when it is. `japanese`: the mail declares a
    Japanese charset, so Shift_JIS read as GBK is looked for too."""
    if not result.ok:
        return result.crash or f"refused: {result.refused}"
    for where, text in (("subject", result.subject), ("body", result.body)):
        marker = _MOJIBAKE.search(text)
        if marker:
            return f"{marker.group()!r} in {where}"
        for run in _LATIN1_RUN.finditer(text):
            if _LATIN1_SIGN.search(run.group()):
                return f"{run.group()[:8]!r} in {where}"
        if japanese and _shift_jis_read_as_gbk(text):
            return f"Shift_JIS read as GBK in {where}: {short(text, 20)!r}"
    return None


def _shift_jis_read_as_gbk(text: str) -> bool:
    """Text without kana whose GBK bytes are Shift_JIS text with kana ("僣乕儖" = "ツール")."""
    if _KANA.search(text) or not _IDEOGRAPH.search(text):
        return False
    try:
        again = text.encode("gb18030").decode("cp932")
    except UnicodeError:
        return False
    return bool(_KANA.search(again))


def check_cjk(mails: Sequence[Mail], results: dict[str, list[Result]]) -> dict[str, object]:
    """The CJK mails, and for each parser those not cleanly decoded (with the first marker)."""
    indices = [i for i, m in enumerate(mails) if is_cjk(m, (r[i] for r in results.values()))]
    japanese = {
        i for i in indices if any(map(_JAPANESE.search, declared_cjk_charsets(mails[i].raw)))
    }
    report: dict[str, object] = {"mails": [mails[i].label for i in indices]}
    for parser, parsed in results.items():
        report[parser] = {
            mails[i].label: why for i in indices if (why := unclean(parsed[i], i in japanese))
        }
    return report


# --- throughput -------------------------------------------------------------------------------


def throughput(parse: Callable[[bytes], Result], raws: Sequence[bytes], rounds: int) -> float:
    """Mails per second, best of `rounds` passes over all of `raws`."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for raw in raws:
            parse(raw)
        best = min(best, time.perf_counter() - started)
    return len(raws) / best


# --- the report --------------------------------------------------------------------------------


def per_corpus(mails: Sequence[Mail], results: dict[str, list[Result]]) -> dict[str, dict]:
    """Mails, crashes and refusals of each parser, by corpus."""
    counts: dict[str, dict] = {}
    for index, mail in enumerate(mails):
        row = counts.setdefault(
            mail.corpus,
            {"mails": 0} | {f"{p}_{k}": 0 for p in results for k in ("crashes", "refusals")},
        )
        row["mails"] += 1
        for parser, parsed in results.items():
            row[f"{parser}_crashes"] += parsed[index].crash is not None
            row[f"{parser}_refusals"] += parsed[index].refused is not None
    return counts


def failures(mails: Sequence[Mail], parsed: Sequence[Result]) -> dict[str, str]:
    """Each crashed or refused mail with the exception or the reason."""
    return {
        m.label: r.crash or f"refused: {r.refused}"
        for m, r in zip(mails, parsed, strict=True)
        if not r.ok
    }


def build_report(corpus: Path, mails: Sequence[Mail], rounds: int) -> dict:
    results = {name: [parse(m.raw) for m in mails] for name, parse in PARSERS.items()}
    expected = load_expectations(corpus / "zammad") if (corpus / "zammad").is_dir() else {}
    agreement = compare_zammad(mails, results, expected)
    raws = [m.raw for m in mails]
    return {
        "corpus": str(corpus),
        "mails": len(mails),
        "parsers": list(PARSERS),
        "per_corpus": per_corpus(mails, results),
        "failures": {p: failures(mails, parsed) for p, parsed in results.items()},
        "zammad": {"with_expectations": len(expected), "body_similar_ratio": SIMILAR}
        | {p: asdict(a) for p, a in agreement.items()},
        "cjk": check_cjk(mails, results),
        "throughput": {"rounds": rounds}
        | {p: throughput(parse, raws, rounds) for p, parse in PARSERS.items()},
    }


# --- output -----------------------------------------------------------------------------------


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Plain-text table: the first column left-aligned, the others right-aligned."""
    cells = [list(map(str, header))] + [list(map(str, row)) for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [
        "  ".join(
            c.rjust(w) if i else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def short(text: str, limit: int = 70) -> str:
    flat = one_line(text)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def print_failures(report: dict) -> None:
    parsers = report["parsers"]
    header = ["corpus", "mails"] + [f"{p} {k}" for p in parsers for k in ("crash", "refused")]
    rows = [
        [corpus, row["mails"]] + [row[f"{p}_{k}"] for p in parsers for k in ("crashes", "refusals")]
        for corpus, row in report["per_corpus"].items()
    ]
    print(table(header, rows))
    for parser in parsers:
        for label, why in report["failures"][parser].items():
            print(f"  {parser}: {label}: {short(why, 90)}")


def print_agreement(report: dict) -> None:
    zammad, parsers = report["zammad"], report["parsers"]
    print(f"agreement with Zammad's expectations ({zammad['with_expectations']} mails with .yml)")
    print(
        "body = full text vs Zammad's body (HTML -> text), compared as words, CJK characters and"
        f" punctuation;\n  contained = expected found in ours; agrees = contained or"
        f" SequenceMatcher ratio >= {SIMILAR}"
    )
    rows = [
        [name] + [f"{zammad[p]['agreed'][name]}/{zammad[p]['compared'][name]}" for p in parsers]
        for name in FIELDS
    ]
    rows.append(
        ["body contained"]
        + [f"{zammad[p]['body_contained']}/{zammad[p]['compared']['body']}" for p in parsers]
    )
    print(table(["field", *parsers], rows))


def print_cjk(report: dict) -> None:
    cjk, parsers = report["cjk"], report["parsers"]
    total = len(cjk["mails"])
    print(f"CJK mails: {total}; cleanly decoded = no U+FFFD, no mojibake in subject and body")
    rows = [(p, f"{total - len(cjk[p])}/{total}") for p in parsers]
    print(table(["parser", "clean"], rows))
    for parser in parsers:
        for label, why in cjk[parser].items():
            print(f"  {parser} not clean: {label}: {short(why, 60)}")


def print_throughput(report: dict) -> None:
    speed = report["throughput"]
    print(f"throughput over all {report['mails']} mails, best of {speed['rounds']}")
    print(table(["parser", "mails/s"], [(p, f"{speed[p]:.0f}") for p in report["parsers"]]))


def print_disagreements(report: dict) -> None:
    print("our disagreements with Zammad")
    for d in report["zammad"]["ours"]["disagreements"]:
        note = f"  [{d['note']}]" if d["note"] else ""
        indent = " " * (len(d["mail"]) + 3)
        print(f"  {d['mail']} {d['field']}: expected {short(d['expected'])!r}{note}")
        print(f"{indent}got      {short(d['got'])!r}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--corpus",
        type=Path,
        default=DEFAULT_CORPUS,
        help="folder of the mail corpora (default: ../shared/corpora/mail beside the project)",
    )
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write the numbers here")
    parser.add_argument("--rounds", type=int, default=3, help="throughput passes, best counts")
    parser.add_argument(
        "--details", action="store_true", help="list every disagreement of ours with Zammad"
    )
    args = parser.parse_args(argv)

    corpus = args.corpus.resolve()
    if not corpus.is_dir():
        sys.exit(f"mail corpus not found at {corpus}: give its folder with --corpus PATH")
    mails = load_corpus(corpus)
    if not mails:
        sys.exit(f"no mail found below {corpus}")
    report = build_report(corpus, mails, args.rounds)
    print(f"corpus {corpus}: {len(mails)} mails\n")
    sections = [print_failures, print_agreement, print_cjk, print_throughput]
    for section in sections + ([print_disagreements] if args.details else []):
        section(report)
        print()
    if args.json:
        text = json.dumps(report, ensure_ascii=False, indent=1) + "\n"
        args.json.write_text(text, encoding="utf-8", errors="backslashreplace")
        print(f"numbers written to {args.json}")


if __name__ == "__main__":
    main()
