"""The captions of a study's tables and figures.

What each shows, what the config left out, and whose numbers.
"""

from __future__ import annotations

from ..analysis.curves import gain_budgets
from ..figures import FIGURES
from ..papers import fu, schneider2023, zhu2019
from ..tables import TABLES
from .plan import Plan

# The papers a study may be the comparison of, each with arms(config), NOTES and CAPTION_CREDIT (papers/).
PAPERS = (schneider2023, fu, zhu2019)

# The tables of the label-budget axis (made only in studies with several train_fractions), from the registry.
LABEL_BUDGET_TABLES = frozenset(name for name, step in TABLES.items()
                                if step.when in ("label_budgets", "label_budget_pairs"))


def _about_label_budgets(name: str) -> bool:
    """A label-budget table, or a figure that reads one."""
    return name in LABEL_BUDGET_TABLES or (name in FIGURES and bool(set(FIGURES[name].tables.values()) &
                                                                    LABEL_BUDGET_TABLES))


def label_budget_note(plan: Plan) -> str:
    """What was run on the label-budget axis, for the captions of its tables and figure."""
    fractions = ", ".join(f"{f:g}" for f in sorted(plan.train_fractions))
    scaling = {"epochs": "the same epochs at every budget (fewer optimiser steps on fewer labels)",
               "steps": "the same optimiser steps at every budget (epochs of as many images as the whole "
                        "training set)"}[plan.config["training"]["budget_scaling"]]
    return (f"Run here: {len(plan.runs)} runs per model, each trained on the shares {fractions} of its "
            f"training set (stratified by class, nested), with {scaling}; the test set is the run's own.")


def left_out_note(plan: Plan, name: str) -> str:
    """What the config leaves out of a table or figure, for its caption ("" where nothing is).

    Budgets longer than a model trains (peak tables, Table 1), the budgets the
    budget-gain figure compares, and pairs without an equal-budget gain (a
    scratch model trained fewer epochs than its pretrained one).
    """
    config = plan.config
    epochs = {model: spec["epochs"] for model, spec in config["models"].items()}
    notes = []
    if name in ("peak_accuracy", "table1_budgets"):
        groups = [(", ".join(m for m, e in epochs.items() if e == trained), trained)
                  for trained in sorted(set(epochs.values()))]
        if plan.long_runs:
            groups.append(("the long runs", config["long_runs"]["epochs"]))
        for runs, trained in groups:
            beyond = [b for b in config["analysis"]["budgets"] if b > trained]
            if beyond:
                notes.append(f"Budgets longer than {trained} epochs are left out of the {trained}-epoch runs of "
                             f"{runs}: {', '.join(map(str, beyond))}.")
    if name == "budget_gains":
        chosen = config["figures"].get("budget_gains", {}).get("budgets")
        budgets = chosen if chosen is not None else gain_budgets(plan.analysis_budgets, list(epochs.values()))
        how = "figures.budget_gains.budgets" if chosen is not None else \
            "by default the two longest of analysis.budgets shorter than every model's epochs"
        notes.append(f"Budgets compared: {', '.join(map(str, budgets))} ({how})." if budgets else
                     f"No budget compared: none of analysis.budgets is shorter than every model's epochs ({how}).")
    if name in ("gains", "sign_tests", "equal_budget_gain"):
        for pretrained, scratch in plan.model_pairs:
            if epochs[scratch] < epochs[pretrained]:
                notes.append(f"No equal-budget gain for {pretrained} - {scratch}: {scratch} trains {epochs[scratch]} "
                             f"epochs, fewer than {pretrained}'s {epochs[pretrained]}.")
    return "".join(" " + note for note in notes)


def caption(plan: Plan, name: str, description: str) -> str:
    """A table's or figure's caption from its `description`.

    A study's published numbers appear only in its comparison.
    """
    description += left_out_note(plan, name)
    if _about_label_budgets(name):
        return f"{description} {label_budget_note(plan)}"
    for paper in PAPERS:
        if name in paper.NOTES and paper.arms(plan.config):
            return f"{description} {paper.NOTES[name]} ({paper.CAPTION_CREDIT}.)"
    return description


def table_caption(plan: Plan, name: str) -> str:
    """The caption of a table of the registry (tables.TABLES)."""
    return caption(plan, name, TABLES[name].description)


def figure_caption(plan: Plan, name: str) -> str:
    """The caption of a figure of the registry (figures.FIGURES)."""
    return caption(plan, name, FIGURES[name].description)


def gradcam_caption(plan: Plan, model: str) -> str:
    """The caption of one model's Grad-CAM figure."""
    k = plan.config["gradcam"]["galaxies_per_class"]
    return (f"Grad-CAM of {model} (run {plan.model_figure_runs['gradcam']}, its best epoch): the first {k} test "
            "galaxies of each class as the network sees them (its evaluation view), the heatmap of their true class "
            "at the layer the architecture registry names, and the two laid over each other. The label says what the "
            "network said.")


def feature_maps_captions(plan: Plan, model: str) -> dict[str, str]:
    """The captions of one model's first-layer filters (`filters`) and feature maps (`maps`)."""
    options, run = plan.config["feature_maps"], plan.model_figure_runs["feature_maps"]
    layers = options["layers"]
    which = (f"{layers} convolutions spread from the first to the last" if isinstance(layers, int)
             else "the layers " + ", ".join(layers))
    galaxy = (f"the first test galaxy of class {options['class_name']}" if options["class_name"] is not None
              else "the first test galaxy")
    return {
        "filters": f"First-layer filters of {model} (run {run}, its best epoch), each stretched to its own range.",
        "maps": (f"Feature maps of {model} (run {run}, its best epoch) for {galaxy} (by store row), as the network "
                 f"sees it: at {which}, the {options['maps_per_layer']} channels of largest mean absolute response, "
                 "each stretched to its own range, one-pixel maps against each other (Zhu et al. 2019, Figs. "
                 "10-13)."),
    }
