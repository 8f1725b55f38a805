"""`--prices FILE`: a YAML mapping of GPU kind to USD per unit-hour, checked before it is used."""

from __future__ import annotations

from tpdeclare import errors


def load_prices_file(path: str) -> dict[str, float]:
    """Read a prices file: a YAML/JSON mapping of GPU kind (H100, CPU, …) to USD per unit-hour."""
    import yaml

    try:
        with open(path, "rb") as fh:
            raw = fh.read(1_000_000)
        doc = yaml.safe_load(raw)
    except OSError as exc:
        raise errors.TpdeclareError(f"cannot read the prices file {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else path
        raise errors.TpdeclareError(f"{where}: the prices file is not valid YAML",
                                    hint="write it as `H100: 2.49` lines, one GPU kind per line") from exc
    if not isinstance(doc, dict) or not doc:
        raise errors.TpdeclareError(f"{path}: expected a mapping of GPU kind to USD per hour, e.g. `H100: 2.49`")
    bad = [k for k, v in doc.items() if not isinstance(k, str) or isinstance(v, bool)
           or not isinstance(v, (int, float)) or v < 0 or v != v]
    if bad:
        raise errors.TpdeclareError(
            f"{path}: {', '.join(repr(k) for k in bad)}: a price must be a number of USD per hour, 0 or more",
            hint="write it as `H100: 2.49`",
        )
    return {k: float(v) for k, v in doc.items()}
