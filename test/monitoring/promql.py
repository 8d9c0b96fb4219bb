"""test/monitoring/promql.py -- just enough PromQL lexing for the monitoring tests.

promtool has no "parse this expression" command and Prometheus 2.42 has no
parse API, yet the monitoring tests must know which metrics every alert and
Grafana panel reads, so that a dead metric name (one nothing exports) fails
a test instead of drawing an empty panel or an alert that can never fire.
This module finds the vector selectors of an expression (metric name and
label matchers) and splits an alert expression into the operands of its
top-level comparisons ("signal > threshold and guard > n"), which the live
test queries one by one.  It is a lexer, not a full parser: it knows
strings, braces, brackets, parentheses, keywords, aggregations and the
label lists of by/without/on/ignoring/group_left/group_right.
"""

import re
from dataclasses import dataclass, field

AGGREGATIONS = {
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
    "count_values", "bottomk", "topk", "quantile",
}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right",
            "bool", "and", "or", "unless", "offset", "atan2", "inf", "nan"}
LABEL_LIST_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
COMPARISONS = {"==", "!=", ">", "<", ">=", "<="}
SPLIT_SET_OPS = {"and", "unless"}

IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
NUMBER = re.compile(r"(?:0x[0-9a-fA-F]+|[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)")
OPERATOR = re.compile(r"==|!=|>=|<=|=~|!~|[-+*/%^><,=]")
MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`)\s*,?')


@dataclass
class Token:
    kind: str  # ident, number, string, braces, brackets, lparen, rparen, op
    text: str
    start: int
    end: int


@dataclass
class Selector:
    name: str
    matchers: list = field(default_factory=list)  # (label, op, value)

    def text(self, ops=("=", "!=", "=~", "!~")):
        """The selector with only the matchers whose operator is in ops."""
        kept = [f'{label}{op}"{value}"' for label, op, value in self.matchers if op in ops]
        return self.name + ("{" + ",".join(kept) + "}" if kept else "")


def _closing(expr, i, open_ch, close_ch):
    """Index just past the bracket closing expr[i] (strings skipped)."""
    depth = 0
    while i < len(expr):
        c = expr[i]
        if c in "\"'`":
            i = _string_end(expr, i)
            continue
        if c == open_ch:
            depth += 1
        elif c == close_ch:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ValueError(f"unbalanced {open_ch}{close_ch} in: {expr}")


def _string_end(expr, i):
    quote = expr[i]
    j = i + 1
    while j < len(expr):
        if expr[j] == "\\" and quote != "`":
            j += 2
            continue
        if expr[j] == quote:
            return j + 1
        j += 1
    raise ValueError(f"unterminated string in: {expr}")


def tokenize(expr):
    tokens, i = [], 0
    while i < len(expr):
        c = expr[i]
        if c.isspace():
            i += 1
        elif c == "#":  # comment to end of line
            j = expr.find("\n", i)
            i = len(expr) if j < 0 else j
        elif c in "\"'`":
            j = _string_end(expr, i)
            tokens.append(Token("string", expr[i:j], i, j))
            i = j
        elif c == "{":
            j = _closing(expr, i, "{", "}")
            tokens.append(Token("braces", expr[i + 1:j - 1], i, j))
            i = j
        elif c == "[":
            j = _closing(expr, i, "[", "]")
            tokens.append(Token("brackets", expr[i + 1:j - 1], i, j))
            i = j
        elif c in "()":
            tokens.append(Token("lparen" if c == "(" else "rparen", c, i, i + 1))
            i += 1
        elif (m := NUMBER.match(expr, i)) and (c.isdigit() or c == "."):
            tokens.append(Token("number", m.group(), i, m.end()))
            i = m.end()
        elif m := IDENT.match(expr, i):
            tokens.append(Token("ident", m.group(), i, m.end()))
            i = m.end()
        elif m := OPERATOR.match(expr, i):
            tokens.append(Token("op", m.group(), i, m.end()))
            i = m.end()
        else:
            raise ValueError(f"unexpected {c!r} at {i} in: {expr}")
    return tokens


def _skip_parens(tokens, k):
    """tokens[k] is '(' : index just past its matching ')'."""
    depth = 0
    while k < len(tokens):
        if tokens[k].kind == "lparen":
            depth += 1
        elif tokens[k].kind == "rparen":
            depth -= 1
            if depth == 0:
                return k + 1
        k += 1
    raise ValueError("unbalanced parentheses")


def parse_matchers(text):
    matchers, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = MATCHER.match(text, pos)
        if not m:
            raise ValueError(f"cannot read label matchers: {{{text}}}")
        value = m.group(3)[1:-1]
        matchers.append((m.group(1), m.group(2), value))
        pos = m.end()
    return matchers


def selectors(expr):
    """Every vector selector of expr, in order of appearance."""
    tokens = tokenize(expr)
    found, k = [], 0
    while k < len(tokens):
        t = tokens[k]
        nxt = tokens[k + 1] if k + 1 < len(tokens) else None
        if t.kind == "ident" and t.text in LABEL_LIST_KEYWORDS and nxt and nxt.kind == "lparen":
            k = _skip_parens(tokens, k + 1)
            continue
        if t.kind == "ident" and k > 0 and tokens[k - 1].kind == "number" and tokens[k - 1].end == t.start:
            k += 1  # unit of a duration such as `offset 5m`
            continue
        if t.kind == "ident":
            is_call = nxt is not None and nxt.kind == "lparen"
            if is_call or t.text in AGGREGATIONS or t.text in KEYWORDS:
                k += 1
                continue
            sel = Selector(t.text)
            if nxt is not None and nxt.kind == "braces" and nxt.start == t.end:
                sel.matchers = parse_matchers(nxt.text)
                k += 1
            found.append(sel)
        elif t.kind == "braces":  # {__name__="x", ...} with no leading name
            matchers = parse_matchers(t.text)
            names = [v for label, op, v in matchers if label == "__name__" and op == "="]
            found.append(Selector(names[0] if names else "", [m for m in matchers if m[0] != "__name__"]))
        k += 1
    return found


def metric_names(expr):
    return sorted({s.name for s in selectors(expr) if s.name})


def comparison_operands(expr):
    """Split expr at its top-level comparisons and and/unless.

    'a > 0.75 and on (x) b > 0.1' -> ['a', '0.75', 'b', '0.1'].  Modifiers
    (bool, on/ignoring(...), group_left/group_right(...)) belong to the
    operator and are dropped.  `or` is not a split point: its operands are
    alternatives, not conditions that must each have data.
    """
    tokens = tokenize(expr)
    operands, depth, start, k = [], 0, 0, 0
    while k < len(tokens):
        t = tokens[k]
        if t.kind == "lparen":
            depth += 1
        elif t.kind == "rparen":
            depth -= 1
        elif depth == 0 and ((t.kind == "op" and t.text in COMPARISONS) or
                             (t.kind == "ident" and t.text in SPLIT_SET_OPS)):
            operands.append(expr[start:t.start].strip())
            k += 1
            while k < len(tokens) and tokens[k].kind == "ident" and tokens[k].text in (
                    "bool", "on", "ignoring", "group_left", "group_right"):
                k += 1
                if k < len(tokens) and tokens[k].kind == "lparen":
                    k = _skip_parens(tokens, k)
            start = tokens[k].start if k < len(tokens) else len(expr)
            continue
        k += 1
    operands.append(expr[start:].strip())
    return [o for o in operands if o]


def is_literal(operand):
    return all(t.kind in ("number", "op", "lparen", "rparen") for t in tokenize(operand))
