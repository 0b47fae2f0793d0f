"""The synthetic Denmark: persons, hospital contacts, municipal care, interventions, roll-outs,
population and survey in the raw layout (ARCHITECTURE.md), with every planted effect in
``truth.json``. See :func:`generate` and ``data/README.md``."""

from nsv_eval.synth.generator import SCHEMAS, generate

__all__ = ["SCHEMAS", "generate"]
