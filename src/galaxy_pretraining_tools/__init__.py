"""Developer tools beside the science package: the docs' DAG counts, the config reference, the locked environment.

They run from a clone (`python -m galaxy_pretraining_tools.<tool>`), never inside the workflow; the science
package `galaxy_pretraining` never imports them (an import-linter contract holds it).
"""
