"""How good the explanations are, apart from the method that makes them.

`study` runs Tilgner et al.'s dataset study on the simulated line; `metrics` measures
how faithful an explainer's maps are; `compare` sets explainers side by side on the
same pairs; `figure` draws an explanation as the paper's Fig. 4 does, and
`record_export` draws a logged record the same way. Nothing is imported here, so a
caller pays only for the module it uses (matplotlib, the simulator).
"""
