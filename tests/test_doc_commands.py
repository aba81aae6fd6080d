"""Commands the docs quote run as quoted: options exist, scenario keys are real fields.

A reader copies ``agglomeration run ... --set behaviour.x.y=1`` or ``python scripts/z.py --opt`` from a
page; a renamed option or parameter makes that command fail for them while every test of the code
passes.  This file reads every command the Markdown pages quote (inline code and shell blocks) and
checks, without running them: an ``agglomeration`` example parses with the CLI's own parser (a usage
synopsis such as ``run SCENARIO [--steps N]`` only needs its options to exist), a script exists and
defines every option used, and every ``--set`` / ``--lever`` key with a value is accepted by the
scenario loader (on the command's scenario when it names a shipped one, else the baseline).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import re
import shlex
import sys
from pathlib import Path

import pytest

from agglomeration.cli import build_parser
from agglomeration.commands.batch import load_with_set, parse_set
from agglomeration.errors import InputError
from agglomeration.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"
#: a token that stands for a value the reader fills in (DIR, N, SCENARIO, ...) or elides
PLACEHOLDER = re.compile(r"^(\.\.\.|[A-Z][A-Z_]+|<[^>]+>|\[.*|.*\]|\||.*\$.*)$")


def _tokens(command: str) -> list[str]:
    try:
        return shlex.split(command)
    except ValueError:  # an unbalanced quote in prose: split on blanks
        return command.split()


def _assignments(tokens: list[str], option: str) -> list[str]:
    """The KEY=VALUE arguments of every ``option`` (``--set k=v`` or ``--set=k=v``) whose value is
    written out (not a placeholder)."""
    out = []
    for i, tok in enumerate(tokens):
        value = tok.split("=", 1)[1] if tok.startswith(option + "=") else None
        if tok == option and i + 1 < len(tokens):
            value = tokens[i + 1]
        if value and "=" in value and not PLACEHOLDER.match(value.split("=", 1)[1]):
            if not PLACEHOLDER.match(value.split("=", 1)[0]) and "..." not in value:
                out.append(value)
    return out


def _scenario_of(tokens: list[str]) -> Path:
    """The shipped scenario a command runs (its first ``scenarios/*.toml`` argument), else the
    baseline."""
    for tok in tokens:
        if tok.startswith("scenarios/") and tok.endswith(".toml") and (ROOT / tok).is_file():
            return ROOT / tok
    return BASELINE


def _options(parser) -> set[str]:
    return {s for action in parser._actions for s in action.option_strings}


def _subparsers(parser) -> dict:
    for action in parser._actions:
        if action.choices and isinstance(action.choices, dict):
            return action.choices
    return {}


def _doc_commands():
    """scripts/doc_commands.py, which finds the quoted commands (the script lists them for users)."""
    path = ROOT / "scripts" / "doc_commands.py"
    spec = importlib.util.spec_from_file_location("doc_commands", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["doc_commands"] = module
    spec.loader.exec_module(module)
    return module


DOC_COMMANDS = _doc_commands()
CLI = DOC_COMMANDS.quoted_commands(("agglomeration",))
SCRIPTS = DOC_COMMANDS.quoted_commands(DOC_COMMANDS.SCRIPT_PREFIXES)


def test_the_docs_quote_commands():
    assert len(CLI) > 50 and len(SCRIPTS) > 40  # the extraction still finds them


@pytest.mark.parametrize("where, command", CLI, ids=[w for w, _ in CLI])
def test_quoted_cli_command_parses(where, command):
    tokens = _tokens(command)[1:]
    commands = _subparsers(build_parser())
    if tokens and PLACEHOLDER.match(tokens[0]):
        return  # `agglomeration COMMAND --help`
    if not tokens or tokens[0] not in commands:
        pytest.fail(f"{where}: `{command}` names no command of agglomeration ({sorted(commands)})")
    options = {t.strip("[]").split("=")[0] for t in tokens if t.strip("[]").startswith("--")}
    unknown = options - _options(commands[tokens[0]])
    assert not unknown, f"{where}: `{command}` uses options {sorted(unknown)} that it lacks"
    if any(PLACEHOLDER.match(t) for t in tokens[1:]):
        return  # a usage synopsis (`run SCENARIO [--steps N]`): its options exist
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            build_parser().parse_args(tokens)
        except SystemExit:
            # prose mentions a command with one of its options (`compare --precision 0.01`,
            # `run --lever`) without the arguments they need; anything else fails as quoted
            fragment = ("arguments are required", "expected one argument")
            if not any(f in err.getvalue() for f in fragment):
                pytest.fail(f"{where}: `{command}` does not parse: {err.getvalue().strip()}")


@pytest.mark.parametrize("where, command", SCRIPTS, ids=[w for w, _ in SCRIPTS])
def test_quoted_script_exists_and_has_its_options(where, command):
    tokens = _tokens(command)
    script = ROOT / tokens[1]
    assert script.is_file(), f"{where}: `{command}`: no file {tokens[1]}"
    source = script.read_text(encoding="utf-8")
    for tok in tokens[2:]:
        option = tok.split("=")[0]
        if option.startswith("--"):
            assert f'"{option}"' in source or f"'{option}'" in source, (
                f"{where}: `{command}`: {tokens[1]} defines no option {option}"
            )


SETTINGS = [
    (where, command, items)
    for where, command in CLI + SCRIPTS
    if (items := [a for o in ("--set", "--lever") for a in _assignments(_tokens(command), o)])
]


@pytest.mark.parametrize("where, command, items", SETTINGS, ids=[w for w, _, _ in SETTINGS])
def test_quoted_scenario_settings_are_fields(where, command, items):
    """``--set`` / ``--lever`` values with a key and a value are accepted: on the experiment for
    ``agglomeration batch FILE`` (its design keys too), else on the command's scenario."""
    tokens = _tokens(command)
    items = [k.replace("__", ".") + "=" + v for k, v in (a.split("=", 1) for a in items)]
    experiment = next((t for t in tokens if t.startswith("experiments/")), None)
    try:
        if tokens[:2] == ["agglomeration", "batch"] and experiment:
            load_with_set(str(ROOT / experiment), items)
        else:
            load_scenario(_scenario_of(tokens), parse_set(items))
    except InputError as e:
        pytest.fail(f"{where}: `{command}`: {e}")
