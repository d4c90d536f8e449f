"""Parsing the workflow imports neither torch nor matplotlib: what the Snakefile and common.smk import stays light."""

import json
import os
import subprocess
import sys

# What the Snakefile and workflow/rules/common.smk import, then the Study of the demo with every target built.
PARSE_TIME = ("import sys, json, yaml\nfrom galaxy_pretraining.study import Study, resolve\n"
              "from galaxy_pretraining.errors import mark_invocation\n"
              "from galaxy_pretraining.data.image_digest import refresh_image_digest\n"
              "from galaxy_pretraining.data.kinds import galaxy10_decals, galaxy_zoo2, mock, nair_abraham\n"
              "from galaxy_pretraining.caches import use_workflow_caches\n"
              "study = Study(resolve(yaml.safe_load(open(sys.argv[1]))))\n"
              "study.targets, [study.table_inputs(t) for t in study.table_names], study.catalog_inputs\n"
              "print(json.dumps(sorted(sys.modules)))")


def _parse_time_modules(root) -> list[str]:
    return json.loads(subprocess.run([sys.executable, "-c", PARSE_TIME, str(root / "config/demo.yaml")],
                                     capture_output=True, text=True, check=True).stdout)


def test_what_the_workflow_imports_at_parse_time_stays_light(root):
    """What the Snakefile and workflow/rules/common.smk import: no torch, matplotlib, scipy or PIL."""
    loaded = _parse_time_modules(root)
    assert [m for m in ("torch", "torchvision", "timm", "kornia", "matplotlib", "scipy", "PIL") if m in loaded] == []


def test_the_parse_time_import_contract_names_every_module_parse_time_loads(root):
    """import-linter checks only the modules its parse-time contract names (their direct imports): each of ours
    that parsing the workflow loads must be among them, or a torch import there would pass `make lint`."""
    import tomllib

    contracts = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    sources = next(c for c in contracts if c["id"] == "parse-time")["source_modules"]

    def named(module: str) -> bool:
        parts = module.split(".")
        return any(len(p.split(".")) == len(parts) and all(a in ("*", b) for a, b in zip(p.split("."), parts))
                   for p in sources)

    loaded = _parse_time_modules(root)
    ours = [m for m in loaded if m == "galaxy_pretraining" or m.startswith("galaxy_pretraining.")]
    assert "galaxy_pretraining.study" in ours and "galaxy_pretraining.study.core" in ours
    assert [m for m in ours if not named(m)] == []


def test_a_dry_run_works_where_torch_and_matplotlib_cannot_be_imported(root, tmp_path, snakemake_exe):
    poison = tmp_path / "poison"
    for name in ("torch", "torchvision", "matplotlib"):
        (poison / name).mkdir(parents=True)
        (poison / name / "__init__.py").write_text(f"raise ImportError('{name} imported while parsing')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(poison), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run([snakemake_exe, "-n", "-s", str(root / "Snakefile"), "-d", str(tmp_path / "work"),
                             "--configfile", str(root / "config/config.yaml")],
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "imported while parsing" not in result.stdout + result.stderr
