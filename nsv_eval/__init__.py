"""nsv-eval: evaluation workbench for Danish municipal health care (Det Nære Sundhedsvæsen)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("nsv-eval")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+local"

__all__ = ["__version__"]
