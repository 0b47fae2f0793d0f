"""Write the LPR2 test extract of ``tests/test_layouts.py`` as SAS datasets.

Usage: ``python tests/data/lpr/make_sas.py [OUT_DIR]`` (default: this folder). Needs
ReadStat's command-line tool (Debian/Ubuntu package ``readstat``, MIT licence,
https://github.com/WizardMac/ReadStat): pandas writes a Stata file, ``readstat`` converts it
to SAS7BDAT. Dates are SAS date values (days since 1960-01-01, the same epoch as Stata's
``%td``); ReadStat writes them without a DATE format, as an extract exported without formats
would hold them. ReadStat 1.1.8 loses the name of a dataset's last variable, so a last
variable ``PAD_UNUSED_COLUMN_READSTAT_1_1_8`` is added and ignored by the reader. (ReadStat
says its SAS7BDAT files may not open in SAS itself; they are read here with pandas.)
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from test_layouts import _lpr2_frames  # noqa: E402

PAD = "PAD_UNUSED_COLUMN_READSTAT_1_1_8"


def main(out: Path) -> None:
    adm, diag = _lpr2_frames()
    adm = adm.copy()
    for c in ("D_INDDTO", "D_UDDTO"):
        adm[c] = pd.to_datetime(adm[c], format="%d%b%Y")
    for c in ("V_INDTIME", "V_INDMINUT", "V_UDTIME"):
        adm[c] = pd.to_numeric(adm[c].replace("", None), errors="coerce").astype("float64")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, df, dates in (
            ("lpr_adm", adm, {"D_INDDTO": "td", "D_UDDTO": "td"}),
            ("lpr_diag", diag, {}),
        ):
            df = df.assign(**{PAD: 0.0})
            dta = Path(tmp) / f"{name}.dta"
            df.to_stata(dta, write_index=False, version=118, convert_dates=dates)
            target = out / f"{name}.sas7bdat"
            target.unlink(missing_ok=True)
            subprocess.run(["readstat", str(dta), str(target)], check=True, capture_output=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
