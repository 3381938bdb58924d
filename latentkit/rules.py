"""Gate rules: ``FIGURE OP VALUE`` over the figure catalogue, parsed with precise errors.

A rule is a catalogue figure (``kl.total``; a per-dimension figure takes an
index, ``kl.per_dim[3]``), a comparison (``>=``, ``<=``, ``>``, ``<``, ``==``)
and a number, or a value relative to a baseline: ``baseline``,
``baseline - 0.05``, ``baseline + 1``, ``baseline * 1.1``, ``baseline / 2``.
Rules come from ``--require`` and from a rules file: ``[tool.latentkit.check]``
in ``pyproject.toml`` or ``[check]`` in ``latentkit.toml``, found by walking up
from the working directory.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from latentkit.catalogue import Figure, figure
from latentkit.errors import LatentkitError

COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq,
}  # fmt: skip
ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
}  # fmt: skip
CONFIG_FILES = (("latentkit.toml", ("check",)), ("pyproject.toml", ("tool", "latentkit", "check")))

_TOKEN = re.compile(
    r"\s*(?:(?P<op>>=|<=|==|>|<)|(?P<arith>[+*/])|(?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.]))"
    r"|(?P<minus>-)|(?P<name>[A-Za-z_][\w.]*(?:\[\d+\])?(?![^\s<>=!+\-*/]))|(?P<other>[^\s<>=]+|\S))"
)


@dataclass(frozen=True)
class Rule:
    """``figure[index] op threshold`` where threshold is ``number`` or ``baseline <arith> number``."""

    text: str
    figure: Figure
    index: int | None
    op: str
    number: float | None  # an absolute threshold, or the operand of the baseline arithmetic
    relative: str | None = None  # None: absolute; "": plain ``baseline``; else one of + - * /

    @property
    def name(self) -> str:
        """The figure as written in the rule (with its index)."""
        return self.figure.name + (f"[{self.index}]" if self.index is not None else "")

    @property
    def needs_baseline(self) -> bool:
        return self.relative is not None

    def threshold(self, baseline: float | None) -> float:
        """The value the measured figure is compared with."""
        if self.relative is None:
            assert self.number is not None
            return self.number
        if baseline is None:
            raise ValueError("relative rule without a baseline value")
        if self.relative == "":
            return baseline
        assert self.number is not None
        return ARITHMETIC[self.relative](baseline, self.number)

    def holds(self, measured: float | None, baseline: float | None = None) -> bool:
        """Whether the rule holds; a missing or non-finite value never does."""
        if measured is None or not math.isfinite(measured):
            return False
        limit = self.threshold(baseline)
        return math.isfinite(limit) and COMPARISONS[self.op](measured, limit)


def _bad(text: str, column: int, expected: str) -> LatentkitError:
    token = text[column:].split()[0] if text[column:].strip() else "the end"
    where = f"at {token!r} (column {column + 1})" if token != "the end" else "at the end"
    return LatentkitError(
        f"bad rule {text!r}: expected {expected} {where}",
        fix="write FIGURE OP NUMBER, e.g. 'kl.total <= 40' or 'mig >= baseline - 0.05'",
    )


def _tokens(text: str) -> list[tuple[str, str, int]]:
    tokens = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        assert match is not None  # the pattern matches any non-blank run
        if match.end() == position:
            break
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind), match.start(kind)))
        position = match.end()
        if not text[position:].strip():
            break
    return tokens


def parse_rule(text: str) -> Rule:
    """Parse one rule; a syntax error names the bad token and its column, an unknown figure lists the valid names."""
    tokens = _tokens(text)
    if not tokens:
        raise LatentkitError("empty rule", fix="write FIGURE OP NUMBER, e.g. 'active_units >= 8'")
    kind, value, column = tokens[0]
    if kind != "name":
        raise _bad(text, column, "a figure name")
    name, index = value, None
    indexed = re.fullmatch(r"(.+)\[(\d+)\]", value)
    if indexed:
        name, index = indexed.group(1), int(indexed.group(2))
    fig = figure(name)  # unknown: lists the valid names
    if fig.shape == "per_dim" and index is None:
        raise LatentkitError(
            f"bad rule {text!r}: {name} has one value per dimension", fix=f"pick one, e.g. {name}[0]"
        )
    if fig.shape == "scalar" and index is not None:
        raise LatentkitError(f"bad rule {text!r}: {name} is one number, not indexed", fix=f"write {name} without [{index}]")
    rest = tokens[1:]
    if not rest or rest[0][0] != "op":
        raise _bad(text, rest[0][2] if rest else len(text), "a comparison (>=, <=, >, <, ==)")
    op = rest[0][1]
    rest = rest[1:]
    if not rest:
        raise _bad(text, len(text), "a number or 'baseline'")
    kind, value, column = rest[0]
    if kind == "number":
        if len(rest) > 1:
            raise _bad(text, rest[1][2], "nothing more")
        return Rule(text, fig, index, op, float(value))
    if kind != "name" or value != "baseline":
        raise _bad(text, column, "a number or 'baseline'")
    rest = rest[1:]
    if not rest:
        return Rule(text, fig, index, op, None, "")
    kind, arith, column = rest[0]
    if kind == "number" and arith[0] in "+-":  # "baseline -0.05" tokenises as a signed number
        rest = [("minus" if arith[0] == "-" else "arith", arith[0], column), ("number", arith[1:], column + 1), *rest[1:]]
        kind, arith, column = rest[0]
    if kind not in ("arith", "minus"):
        raise _bad(text, column, "+, -, * or / after 'baseline'")
    if len(rest) < 2 or rest[1][0] != "number":
        raise _bad(text, rest[1][2] if len(rest) > 1 else len(text), f"a number after 'baseline {arith}'")
    if len(rest) > 2:
        raise _bad(text, rest[2][2], "nothing more")
    return Rule(text, fig, index, op, float(rest[1][1]), arith)


def parse_rules(texts: Sequence[str]) -> list[Rule]:
    return [parse_rule(text) for text in texts]


def _table(document: dict[str, Any], keys: Sequence[str]) -> dict[str, Any] | None:
    value: Any = document
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value if isinstance(value, dict) else None


def read_rules_file(path: str | Path) -> list[str]:
    """The ``require`` list of a ``pyproject.toml`` (``[tool.latentkit.check]``) or another TOML file (``[check]``)."""
    import tomllib

    path = Path(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LatentkitError(f"rules file {path} does not exist", fix="check the --rules-file path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LatentkitError(f"cannot read rules file {path}: {exc}", fix="pass a readable TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise LatentkitError(f"{path} is not valid TOML: {exc}", fix="fix the TOML syntax") from None
    keys = ("tool", "latentkit", "check") if path.name == "pyproject.toml" else ("check",)
    table = _table(document, keys)
    where = "[" + ".".join(keys) + "]"
    if table is None:
        raise LatentkitError(f"{path} has no {where} table", fix=f"add {where} with require = [\"active_units >= 8\"]")
    unknown = sorted(set(table) - {"require"})
    if unknown:
        raise LatentkitError(f"{path} {where} has unknown key(s) {', '.join(unknown)}", fix="the table holds require = [...]")
    rules = table.get("require", [])
    if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
        raise LatentkitError(f"{path} {where} require is not a list of strings", fix='write require = ["kl.total <= 40"]')
    return rules


def find_rules_file(start: str | Path) -> Path | None:
    """The nearest ``latentkit.toml`` with ``[check]`` or ``pyproject.toml`` with ``[tool.latentkit.check]``,
    walking up from ``start``; in one folder ``latentkit.toml`` wins."""
    import tomllib

    for folder in (Path(start).resolve(), *Path(start).resolve().parents):
        for name, keys in CONFIG_FILES:
            candidate = folder / name
            if not candidate.is_file():
                continue
            try:
                document = tomllib.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                if name == "latentkit.toml":
                    return candidate  # latentkit's own file: reading it reports the problem
                continue  # someone else's broken pyproject.toml is not ours to judge
            if _table(document, keys) is not None:
                return candidate
    return None
