"""Developer tools beside the science package.

The docs' DAG counts, the config reference and the locked environment.

They run from a clone (`python -m galaxy_pretraining_tools.<tool>`), never inside the workflow; the science
package `galaxy_pretraining` never imports them (an import-linter contract holds it).
"""
