"""The rules take the plan from the Study alone; a job script reads the config only as it starts (its Machine)."""

import io
import tokenize
from collections import Counter
from pathlib import Path

# The one place a rule file names the config: common.smk builds the Study from it (the Snakefile resolves it).
RULES_MAY = {("common.smk", "study = Study(config)")}
# What a job script may hand the config to, at job time: what never enters params, so changing it reruns nothing.
SCRIPTS_MAY = ("Machine.from_config(snakemake.config, snakemake.threads)", "batch_size(snakemake.config, name)")


def _config_lines(path: Path) -> list[tuple[int, str, int]]:
    """(line number, stripped line, how often) of every line whose code (not a comment or string) names `config`."""
    lines = path.read_text().splitlines()
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
    numbers = Counter(t.start[0] for t in tokens if t.type == tokenize.NAME and t.string == "config")
    return [(n, lines[n - 1].strip(), count) for n, count in sorted(numbers.items())]


def test_no_rule_reads_the_config_but_through_the_study(root):
    """Every value a rule states comes from `study` (galaxy_pretraining.study.Study), one line each."""
    found = [(path.name, line) for path in sorted((root / "workflow/rules").glob("*.smk"))
             for _, line, _ in _config_lines(path)]
    assert set(found) == RULES_MAY and len(found) == len(RULES_MAY), \
        [f"workflow/rules/{name}: {line}" for name, line in found if (name, line) not in RULES_MAY]


def test_a_job_script_reads_the_config_only_for_what_it_reads_at_job_time(root):
    """A script hands snakemake.config to Machine.from_config or the prediction batch size, never indexes it."""
    wrong = [f"workflow/scripts/{path.name}:{number}: {line}"
             for path in sorted((root / "workflow/scripts").glob("*.py")) for number, line, count in _config_lines(path)
             if count != sum(line.count(allowed) for allowed in SCRIPTS_MAY)]
    assert wrong == []
