#!/usr/bin/python3
"""tools/format.py -- `make format` (fix) and `make format-check` (check).

Every C file of extension/ and gateway/ is run through clang-format with
the .clang-format nearest to it; `check` lists each file as `ok - FILE` or
`not ok - FILE: N lines differ` (with the first differing lines) and ends
with `N passed, N failed`, exiting 1 when any file differs; `fix` rewrites
the files that differ.

A .clang-format that carries the line `# openrisk-format: alignment is
pgindent's` (extension/) is compared leniently: PostgreSQL code is laid out
by pgindent, which aligns declarators, trailing comments and macro bodies
at fixed tab columns that no clang-format option reproduces.  For those
files a line is compared with its indentation but with every run of blanks
after its first non-blank character counted as one blank, and the
continuation lines of a trailing comment (a /* opened after code) and of a
declaration list ("int a,\n b;") without their indentation, since pgindent
puts them at a column of its own too.  Everything
else -- line breaks, indentation, braces, spacing between tokens -- must be
what clang-format says.  `fix` on such a file keeps every original line
whose comparison key clang-format agrees with, so pgindent's alignment
survives, and takes clang-format's lines elsewhere.
"""
import difflib
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TREES = ("extension", "gateway")
LENIENT_MARK = "# openrisk-format: alignment is pgindent's"
SHOWN_DIFF_LINES = 8


def c_files(args):
    """The files named on the command line, or every C file of the trees."""
    if args:
        return [os.path.relpath(os.path.abspath(a), ROOT) for a in args]
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--"]
        + [f"{t}/*.{ext}" for t in TREES for ext in ("c", "h")],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return sorted(f for f in set(out.split()) if os.path.isfile(os.path.join(ROOT, f)))


def style_file(path):
    """The .clang-format clang-format would use for path."""
    d = os.path.dirname(os.path.join(ROOT, path))
    while True:
        candidate = os.path.join(d, ".clang-format")
        if os.path.isfile(candidate):
            return candidate
        if d == ROOT or d == os.path.dirname(d):
            return None
        d = os.path.dirname(d)


def is_lenient(path):
    style = style_file(path)
    with open(style) as f:
        return any(line.strip() == LENIENT_MARK for line in f)


def clang_format(path):
    return subprocess.run(["clang-format", "--style=file", path], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout


def aligned_lines(lines):
    """For each line: is its indentation alignment rather than nesting?

    True for the continuation lines of a trailing comment (a /* opened after
    code) and of a declaration list ("int a,\n b;" outside parentheses and
    outside enum or initializer braces): pgindent puts both at a column of
    its own.  A small C scanner: comments, strings, parentheses, braces.
    """
    flags = []
    in_comment = trailing = False
    depth = 0          # parentheses and brackets
    braces = []        # "block" or "list" per open brace
    statement = ""     # code since the last ; { or } outside parentheses
    last_code = ""     # last non-blank code character of the previous code line
    for line in lines:
        declaration = (not in_comment and last_code == "," and depth == 0
                       and (not braces or braces[-1] == "block"))
        flags.append((in_comment and trailing) or declaration)
        if line.lstrip().startswith("#"):
            continue
        i, code_seen, quote = 0, False, None
        while i < len(line):
            c = line[i]
            if in_comment:
                if line.startswith("*/", i):
                    in_comment, i = False, i + 2
                    continue
            elif quote:
                if c == "\\":
                    i += 1
                elif c == quote:
                    quote = None
            elif line.startswith("//", i):
                break
            elif line.startswith("/*", i):
                in_comment, trailing, i = True, code_seen, i + 2
                continue
            elif not c.isspace():
                code_seen, last_code = True, c
                if c in "\"'":
                    quote = c
                elif c in "([":
                    depth += 1
                elif c in ")]":
                    depth = max(0, depth - 1)
                elif c == "{" and depth == 0:
                    is_list = re.search(r"=\s*$|^\s*(typedef\s+)?enum\b", statement) or "list" in braces[-1:]
                    braces.append("list" if is_list else "block")
                    statement = ""
                elif c == "}" and depth == 0:
                    braces = braces[:-1]
                    statement = ""
                elif c == ";" and depth == 0:
                    statement = ""
                if c not in "{};" or depth:
                    statement += c
            elif depth == 0:
                statement += " "
            i += 1
    return flags


def keys(text, lenient):
    """What is compared of each line (the line itself unless lenient)."""
    lines = text.split("\n")
    if not lenient:
        return lines
    keyed = []
    for line, continuation in zip(lines, aligned_lines(lines)):
        body = line.lstrip(" \t")
        indent = "" if continuation else line[:len(line) - len(body)]
        keyed.append(indent + re.sub(r"[ \t]+", " ", body))
    return keyed


def differences(original, formatted, lenient):
    """Unified-diff lines between the two texts' keys (empty: they agree)."""
    return list(difflib.unified_diff(keys(original, lenient), keys(formatted, lenient), lineterm="", n=0))[2:]


def merged(original, formatted, lenient):
    """The fixed text: clang-format's, keeping original lines it agrees with."""
    if not lenient:
        return formatted
    a, b = original.split("\n"), formatted.split("\n")
    out = []
    ops = difflib.SequenceMatcher(None, keys(original, True), keys(formatted, True), autojunk=False)
    for tag, i1, i2, j1, j2 in ops.get_opcodes():
        out += a[i1:i2] if tag == "equal" else b[j1:j2]
    return "\n".join(out)


def already_formatted(files):
    """The files clang-format would not change at all: one --dry-run for all."""
    out = subprocess.run(["clang-format", "--style=file", "--dry-run"] + files, cwd=ROOT,
                         capture_output=True, text=True).stderr
    flagged = set(re.findall(r"^(.+?):\d+:\d+: (?:warning|error):", out, re.M))
    return {f for f in files if f not in flagged}


def check(files):
    passed = failed = 0
    clean = already_formatted(files)
    for path in files:
        with open(os.path.join(ROOT, path)) as f:
            original = f.read()
        diff = [] if path in clean else differences(original, clang_format(path), is_lenient(path))
        if not diff:
            passed += 1
            print(f"ok - {path}")
            continue
        failed += 1
        changed = sum(1 for line in diff if line.startswith("-"))
        print(f"not ok - {path}: {changed} lines differ from clang-format (make format rewrites them)")
        for line in diff[:SHOWN_DIFF_LINES]:
            print("#   " + line.replace("\t", "    "))
    print(f"{passed} passed, {failed} failed")
    return failed == 0


def fix(files):
    for path in files:
        full = os.path.join(ROOT, path)
        with open(full) as f:
            original = f.read()
        lenient = is_lenient(path)
        text = original
        for _ in range(3):  # a rewritten line can move what clang-format wants next to it
            formatted = clang_format_text(text, path)
            if not differences(text, formatted, lenient):
                break
            text = merged(text, formatted, lenient)
        if text != original:
            with open(full, "w") as f:
                f.write(text)
            print(f"formatted {path}")
    return True


def clang_format_text(text, path):
    """clang-format of text as if it were path (its style file applies)."""
    return subprocess.run(["clang-format", "--style=file", f"--assume-filename={path}"], cwd=ROOT,
                          input=text, capture_output=True, text=True, check=True).stdout


def main(argv):
    if len(argv) < 2 or argv[1] not in ("check", "fix"):
        print(f"usage: {argv[0]} check|fix [FILE...]", file=sys.stderr)
        return 2
    if not shutil.which("clang-format"):
        print("not ok - clang-format is not installed (apt-get install clang-format)")
        print("0 passed, 1 failed")
        return 1
    files = c_files(argv[2:])
    ok = check(files) if argv[1] == "check" else fix(files)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
