"""The papers a study can be compared with, one module each.

Its published numbers, keyed by what the paper calls its arms and never by a config's model name; the protocol they
belong to; the notes they add to our captions; and the tables that put our numbers beside theirs.

- `schneider2023`: Schneider, Stenning & Elliott (2023), AlexNet pretrained
  against scratch on the Nair & Abraham sample (the default study);
- `fu`: Fu, DenseNet-121 with part of its ImageNet layers frozen, on Galaxy10 DECaLS;
- `zhu2019`: Zhu et al. (2019), their networks from scratch on Galaxy Zoo 2;
- `protocol`: what they share (a config checked against a paper's protocol).

Each paper module has the same face: `CITATION`, `CAPTION_CREDIT`,
`PROTOCOL`, `NOTES` ({table or figure name: what the paper shows}) and
`arms(config)`, which maps a study's models to the paper's arms when, and only
when, the study is that paper's comparison ({} otherwise). The modules stand
alone (none imports another) and build on `analysis/`, which knows no paper.
"""
