"""The Kaggle Galaxy Challenge's file names, plain strings.

The light package (parse time) and the catalog builder (galaxy_zoo2.py) both read them, so neither imports the other
for them.
"""

SOLUTIONS_FILE = "training_solutions_rev1.csv"  # Kaggle's; parsing the workflow reads it
