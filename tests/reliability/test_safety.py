"""Safety: scenario and experiment files are data, names cannot escape the results directory, and
network services listen on localhost by default.

- Nothing in a scenario, data CSV, experiment file or ``--set`` value is evaluated: code-looking text
  stays text (checked by behaviour, and by an AST scan of the package for eval/exec/pickle/shell calls).
  The one exception is the documented ``model = "module:Class"`` option, which imports *installed* code
  and only accepts a subclass of AgglomerationModel.
- Variant and experiment names are identifiers (no path separators or ``..``); run ids are hex hashes,
  so no input can make the store write outside its directory.
- The dask LocalCluster binds 127.0.0.1 (tests/reliability/test_reproducibility.py checks the real
  cluster's addresses); the dashboard's default host is 127.0.0.1 (tests/report/test_dashboard.py).
"""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import pytest

from agglomeration import cli
from agglomeration.errors import InputError
from agglomeration.experiment.runner import plan_runs, run_experiment
from agglomeration.experiment.spec import load_experiment
from agglomeration.experiment.store import ResultStore
from agglomeration.scenario import load_scenario

HERE = Path(__file__).resolve().parents[1]
SRC = HERE.parent / "src" / "agglomeration"
TINY = HERE / "data" / "tiny"
_QUIET = ("--quiet", "--no-figures", "--steps", "0")
PAYLOAD = "__import__('os').system('touch PWNED')"

EXPERIMENT = """
name = "safe"
scenario = "tiny/scenario.toml"
replicates = 1
seed = 1
steps = 1
[[variants]]
name = "base"
[[variants]]
name = "VARIANT"
overrides = { "policy.delegation.B" = 0.9 }
"""


@pytest.fixture
def root(tmp_path: Path, monkeypatch) -> Path:
    shutil.copytree(TINY, tmp_path / "tiny")
    monkeypatch.chdir(tmp_path)  # a payload's relative 'touch PWNED' would land here
    return tmp_path


def _no_payload_ran(root: Path) -> None:
    assert not (root / "PWNED").exists() and not Path("PWNED").exists()


# ------------------------------------------------------------------------------------------------
# names cannot write outside the results directory
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name", ["../x", "/abs", "a/b", "..", "a\\b", "~user", "", "x" * 65, "a b", "ok\n", "é"]
)
def test_variant_names_cannot_be_paths(root, capsys, name):
    (root / "exp.toml").write_text(EXPERIMENT.replace('"VARIANT"', repr(name).replace("'", '"')))
    code = cli.main(["batch", str(root / "exp.toml"), "--out", str(root / "out"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "variants" in err and "name" in err and "letters, digits" in err
    assert sorted(p.name for p in root.iterdir()) == ["exp.toml", "tiny"]
    assert not (root.parent / "x").exists()


@pytest.mark.parametrize("name", ["../escape", "/tmp/abs", "a/b"])
def test_experiment_names_cannot_be_paths(root, capsys, name):
    """The default --out is results/<name>: a name must not point anywhere else."""
    (root / "exp.toml").write_text(EXPERIMENT.replace('name = "safe"', f'name = "{name}"'))
    code = cli.main(["batch", str(root / "exp.toml"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "name" in err and "letters, digits" in err
    assert sorted(p.name for p in root.iterdir()) == ["exp.toml", "tiny"]
    assert not (root.parent / "escape").exists()


def test_run_ids_are_hex_and_every_file_stays_inside_the_store(root):
    (root / "exp.toml").write_text(EXPERIMENT.replace('"VARIANT"', '"other"'))
    exp = load_experiment(root / "exp.toml", replicates=2)
    plan = plan_runs(exp, root / "out")
    assert all(re.fullmatch(r"[0-9a-f]{16}", t.run_id) for t in plan.tasks)
    run_experiment(exp, root / "out", executor="serial", progress=False)
    out = (root / "out").resolve()
    for p in out.rglob("*"):
        assert p.resolve().is_relative_to(out)
    assert sorted(p.name for p in root.iterdir()) == ["exp.toml", "out", "tiny"]


def test_reproduce_run_argument_is_not_a_path(root, capsys):
    (root / "exp.toml").write_text(EXPERIMENT.replace('"VARIANT"', '"other"'))
    run_experiment(root / "exp.toml", root / "out", executor="serial", progress=False)
    victim = root / "victim.parquet"
    victim.write_bytes(b"keep")
    for bad in ("../victim", str(victim), "../../etc/passwd"):
        code = cli.main(["reproduce", str(root / "out"), "--run", bad])
        assert code == 2 and "--run" in capsys.readouterr().err
    assert victim.read_bytes() == b"keep"
    store = ResultStore(root / "out")
    assert store.part_path("runs", "abc").parent == root / "out" / "parts" / "runs"


# ------------------------------------------------------------------------------------------------
# files are data
# ------------------------------------------------------------------------------------------------
def test_code_in_scenario_strings_is_kept_as_text(root):
    toml = root / "tiny" / "scenario.toml"
    toml.write_text(
        toml.read_text().replace(
            'description = "3-region test world for the scenario, geography and validate tests"',
            f'description = "{PAYLOAD}"',
        )
    )
    regions = root / "tiny" / "regions.csv"
    regions.write_text(regions.read_text().replace("A,Alpha,", f'A,"{PAYLOAD}",', 1))
    sectors = root / "tiny" / "sectors.csv"
    sectors.write_text(sectors.read_text().replace("estimate: test data", "=cmd|' /C calc'!A0", 1))
    scen = load_scenario(toml)
    assert scen.description == PAYLOAD
    _no_payload_ran(root)
    code = cli.main(["run", str(toml), "--out", str(root / "run"), "--quiet", "--no-figures"])
    assert code == 0
    _no_payload_ran(root)


@pytest.mark.parametrize(
    "value",
    [PAYLOAD, "!!python/object/apply:os.system ['touch PWNED']", "${PWNED}", "$(touch PWNED)"],
)
def test_code_in_override_values_is_not_evaluated(root, capsys, value):
    toml = root / "tiny" / "scenario.toml"
    for key in ("behaviour.sourcing.search_probability", "description"):
        code = cli.main(
            [*("run", str(toml), "--set", f"{key}={value}", "--out", str(root / "o")), *_QUIET]
        )
        capsys.readouterr()
        # a number field refuses the text (exit 2); a text field keeps it verbatim (exit 0)
        assert code == (2 if key.startswith("behaviour") else 0)
        _no_payload_ran(root)
    with pytest.raises(InputError):
        load_scenario(toml, {"steps": value})
    assert load_scenario(toml, {"description": value}).description == value
    _no_payload_ran(root)


@pytest.mark.parametrize(
    ("ref", "needle"),
    [
        ("os:system", "has no class"),
        ("pathlib:Path", "not a subclass"),
        ("subprocess:Popen", "not a subclass"),
        ("builtins:object", "not a subclass"),
        (PAYLOAD, "package.module:ClassName"),
        ("os;touch PWNED:X", "package.module:ClassName"),
    ],
)
def test_model_option_only_accepts_agglomeration_model_subclasses(root, capsys, ref, needle):
    base = EXPERIMENT.replace('"VARIANT"', '"other"')
    text = base.replace("steps = 1", f"steps = 1\nmodel = '''{ref}'''")  # TOML literal string
    (root / "exp.toml").write_text(text)
    code = cli.main(["batch", str(root / "exp.toml"), "--out", str(root / "out"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "model" in err and needle in err, err
    assert not (root / "out").exists()
    _no_payload_ran(root)


#: call names that would evaluate or deserialise code, or run a shell
_FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__", "system", "popen", "loads_pickle"}
_FORBIDDEN_ATTRS = {("pickle", "load"), ("pickle", "loads"), ("yaml", "load"), ("marshal", "loads")}


def test_package_source_evaluates_nothing_from_files():
    """AST scan: no eval/exec/compile/__import__, no pickle/yaml/marshal loading, no os.system or
    shell=True, and ``import_module`` only in the dispatcher, the lazy public API and the documented
    ``model = "module:Class"`` and ``[reporters] function = "module:function"`` resolvers."""
    offenders: list[str] = []
    import_module_users: set[str] = set()
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        rel = str(path.relative_to(SRC))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            name = (
                f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            )
            owner = (
                f.value.id if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) else ""
            )
            bare = isinstance(f, ast.Name) or owner in ("builtins", "os")
            if (name in _FORBIDDEN_CALLS and bare) or (owner, name) in _FORBIDDEN_ATTRS:
                offenders.append(f"{rel}:{node.lineno} {owner + '.' if owner else ''}{name}")
            for kw in node.keywords:
                if kw.arg == "shell" and isinstance(kw.value, ast.Constant) and kw.value.value:
                    offenders.append(f"{rel}:{node.lineno} shell=True")
            if name == "import_module":
                import_module_users.add(rel)
    assert offenders == []
    assert import_module_users <= {
        "cli.py",
        "__init__.py",
        "experiment/__init__.py",
        "experiment/execute.py",
        "experiment/reporters.py",
        "commands/validate.py",
    }, import_module_users
