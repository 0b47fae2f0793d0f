"""Generate the malformed-file corpus for the ingest tests.

Run ``python tests/corpus/make_corpus.py`` from the repository root to (re)write the files
beside this script. The generated files are committed too, so the tests never depend on
running this script; ``expected.yaml`` (written by hand) states the outcome for each file.

All CPR numbers below are invented for testing: they have valid birth dates and
century digits but belong to no data about real people.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent

# invented CPR numbers: valid date + century rule (see stdnum.dk.cpr)
A = "010150-1235"  # 1950-01-01, M
B = "150372-2468"  # 1972-03-15, F
C = "240885-3071"  # 1985-08-24, M
D = "051210-4122"  # 7th digit 4, year 10 -> 2010-12-05, F


def text(name: str, content: str, encoding: str = "utf-8", bom: bool = False) -> None:
    """Write ``content`` (``\\n`` line ends) in ``encoding``."""
    data = content.encode(encoding)
    if bom:
        data = b"\xef\xbb\xbf" + data
    (HERE / name).write_bytes(data)


def main() -> None:
    """Write every corpus file."""
    # 1. cp1252 with æøå: kommune names, education labels
    text(
        "cp1252_persons.csv",
        "person_id;kommune;fødselsdato;køn;uddannelse\n"
        "p001;Køge;01-02-1940;K;Grundskole\n"
        "p002;Tårnby;15.06.1955;M;Lange videregående uddannelser\n"
        "p003;Helsingør;1960-12-31;Kvinde;Erhvervsfaglige uddannelser\n",
        encoding="cp1252",
    )
    # 2. UTF-8 with BOM (Excel "CSV UTF-8"), comma-separated
    text(
        "utf8_bom_falls.csv",
        "person_id,faldsdato\np001,03-01-2021\np002,04-01-2021\np003,05-01-2021\n",
        bom=True,
    )
    # 3. mixed delimiters: header and two rows with ';', two rows with ','
    text(
        "mixed_delimiters_falls.csv",
        "person_id;fall_date\np001;03-01-2021\np002,04-01-2021\np003;05-01-2021\np004,06-01-2021\n",
    )
    # 4. truncated last line (file cut in the middle of a row, no final newline)
    text(
        "truncated_last_line_admissions.csv",
        "person_id;inddto;uddto;akut;adiag\n"
        "p001;01-03-2020 10:15;03-03-2020 12:00;1;DJ189\n"
        "p002;02-03-2020 08:00;05-03-2020 09:30;2;DN390\n"
        "p003;04-03-2020 1",
    )
    # 6. three (four) date formats in one column, plus a US-style date and a 2-digit year
    text(
        "three_date_formats_falls.csv",
        "person_id;fall_date\n"
        "p001;15-03-2020\n"
        "p002;15.03.2020\n"
        "p003;15/03/2020\n"
        "p004;2020-03-15\n"
        "p005;03/15/2020\n"
        "p006;15-03-20\n",
    )
    # 7. negative population count
    text(
        "negative_population.csv",
        "aar;komkode;alder;koen;antal\n2020;101;70;M;1200\n2020;101;70;K;-5\n2020;101;71;M;1100\n",
    )
    # 8. CPR with letters
    text(
        "cpr_with_letters_persons.csv",
        f"cpr;komkode\n{A};326\n01O150-1235;326\n{B};326\n",
    )
    # 9. CPR with impossible birth dates (31 Feb; born in 2030 per the century rule)
    text(
        "cpr_impossible_date_persons.csv",
        f"CPR-nummer;kommune\n310250-1235;326\n010130-5000;326\n{C};326\n{D};326\n",
    )
    # 10. discharge before admission
    text(
        "discharge_before_admission.csv",
        "person_id;d_inddto;d_uddto;c_indm;c_adiag\n"
        "p001;01-03-2020;05-03-2020;1;DJ189\n"
        "p002;10-03-2020;09-03-2020;1;DJ189\n"
        "p003;10-03-2020 14:00;10-03-2020 13:59;2;DI500\n",
    )
    # 11. unknown kommune (code and name)
    text(
        "unknown_kommune_rollout.csv",
        "kommune;indsats;startdato\n"
        "326;faldforebyggelse;01-01-2014\n"
        "999;akutteam;01-06-2015\n"
        "Atlantis;akutteam;\n"
        "Kalundborg;akutteam;\n",
    )
    # 12. invalid ICD-10
    text(
        "invalid_icd10_admissions.csv",
        "person_id;inddto;uddto;akut;aktionsdiagnose\n"
        "p001;01-03-2020;05-03-2020;ja;DJ18.9\n"
        "p002;01-03-2020;05-03-2020;nej;J189\n"
        "p003;01-03-2020;05-03-2020;ja;123\n"
        "p004;01-03-2020;05-03-2020;ja;lungebetændelse\n",
    )
    # 13. empty file, 14. header only
    text("empty.csv", "")
    text("header_only_falls.csv", "person_id;fall_date\n")
    # 15. missing required column with a near-miss name
    text(
        "missing_required_near_miss_admissions.csv",
        "person_id;indlaegelsesdato;uddto;akut;adiag\np001;01-03-2020;05-03-2020;1;DJ189\n",
    )
    # 16. decimal comma (and thousands '.') in hours per week
    text(
        "decimal_comma_care.csv",
        "person_id;ydelse;startdato;slutdato;timer_pr_uge\n"
        "p001;hjemmepleje;01-01-2020;31-12-2020;7,5\n"
        "p002;Hjemmesygepleje;01-01-2020;;37,25\n"
        "p003;hjemmepleje;01-01-2020;;1.000,5\n"
        "p004;personlig pleje;01-01-2020;15-01-2020;2\n",
    )
    text(
        "thousands_population.csv",
        "year;kommune_code;age;sex;population\n"
        "2020;101;30;F;1.234\n"
        "2020;101;31;F;12.345\n"
        "2020;101;32;F;1.234.567\n",
    )
    # 17. exact duplicate rows
    text(
        "duplicate_rows_falls.csv",
        "person_id;fall_date\np001;03-01-2021\np001;03-01-2021\np002;03-01-2021\np001;03-01-2021\n",
    )
    # 18. ragged row (an extra field)
    text(
        "ragged_row_care.csv",
        "person_id;service;start_date;end_date;hours_per_week\n"
        "p001;home_care;01-01-2020;;3\n"
        "p002;home_care;01-01-2020;;3;ekstra\n"
        "p003;home_nursing;01-01-2020;;1\n",
    )
    # 19. unknown sex code
    text(
        "unknown_sex_population.csv",
        "year;kommune_code;age;sex;population\n2020;101;30;M;10\n2020;101;30;X;4\n2020;101;30;2;12\n",
    )
    # 20. tab-separated, Danish category names
    text(
        "tab_separated_interventions.tsv",
        "person_id\tindsats\tdato\n"
        "p001\tOpfølgende hjemmebesøg\t02-02-2021\n"
        "p002\tFaldforebyggelse\t03-02-2021\n"
        "p003\tForebyggende hjemmebesøg\t04-02-2021\n"
        "p004\tmadudbringning\t05-02-2021\n",
    )
    # 21. pipe-separated survey, decimal comma weights, ja/nej, a negative weight
    text(
        "pipe_survey.txt",
        "respondent_id|aar|kommune|koen|alder|uddannelse|vaegt|helbred_godt|dagligryger|ensom|mental_trivsel\n"
        "r1|2021|326|K|67|kort|1,25|ja|nej|nej|55,5\n"
        "r2|2021|326|M|45|lang|0,8|nej|ja||48\n"
        "r3|2021|326|M|45|lang|-0,8|nej|ja|nej|48\n",
    )
    # 22. binary garbage, 23. old .xls (OLE2 magic)
    (HERE / "not_a_table.csv").write_bytes(b"\x00\x01\x02garbage\x00\xff" * 20)
    (HERE / "old_excel.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    # 24. bad number, 25. missing value
    text(
        "bad_number_care.csv",
        "person_id;service;start_date;end_date;hours_per_week\n"
        "p001;home_care;01-01-2020;;abc\n"
        "p002;home_care;01-01-2020;;4\n",
    )
    text(
        "missing_value_falls.csv",
        "person_id;fall_date\np001;\n;03-01-2021\np003;NA\np004;04-01-2021\n",
    )
    # 26. CPR that disagrees with the given birth date and sex
    text(
        "cpr_mismatch_persons.csv",
        "pnr;komkode;foedselsdato;koen\n"
        f"{A};326;01-01-1950;M\n"
        f"{B};326;16-03-1972;K\n"
        f"{C};326;24-08-1985;K\n",
    )
    # 27. the same person twice with different data (key conflict)
    text(
        "conflicting_key_persons.csv",
        "person_id;kommune_code;birth_date;sex\n"
        "p001;326;01-01-1950;M\n"
        "p002;326;01-01-1951;F\n"
        "p001;101;01-01-1950;M\n",
    )
    # 28. a Statistikbanken (FOLK1A) export: title line, names, '85 år', Mænd/Kvinder, 2020K1
    text(
        "dst_folk1a_population.csv",
        "FOLK1A: Befolkningen den 1. i kvartalet efter område, alder, køn og tid\n"
        "OMRÅDE;ALDER;KØN;TID;INDHOLD\n"
        "København;85 år;Mænd;2020K1;2.345\n"
        "København;85 år;Kvinder;2020K1;4.012\n"
        "Lyngby-Taarbæk;0 år;Kvinder;2020K1;301\n",
        encoding="cp1252",
    )
    # 29. typed Parquet with a bad row (row index is 0-based)
    pq.write_table(
        pa.table(
            {
                "contact_id": pa.array([1, 2, 3], pa.int64()),
                "person_id": ["p001", "p002", "p003"],
                "admit_time": pa.array(
                    [
                        dt.datetime(2020, 1, 1, 8),
                        dt.datetime(2020, 1, 2, 8),
                        dt.datetime(2020, 1, 3, 8),
                    ],
                    pa.timestamp("us"),
                ),
                "discharge_time": pa.array(
                    [
                        dt.datetime(2020, 1, 2, 8),
                        dt.datetime(2020, 1, 1, 8),
                        dt.datetime(2020, 1, 4, 8),
                    ],
                    pa.timestamp("us"),
                ),
                "acute": [True, False, True],
                "diagnosis": ["DJ189", "DN390", "DI50"],
                "hospital": ["1301", None, "6006"],
            }
        ),
        HERE / "typed_contacts.parquet",
    )
    # 5. Excel with a two-row header (merged title row), and 30. CPR stored as a number
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "LPR udtræk"
    ws.append(["Indlæggelser 2020 — udtræk fra LPR", None, None, None, None, None])
    ws.merge_cells("A1:F1")
    ws.append(
        [
            "PNR",
            "Indlæggelsesdato",
            "Udskrivningsdato",
            "Indlæggelsesmåde",
            "Aktionsdiagnose",
            "Sygehus",
        ]
    )
    ws.append(
        [A, dt.datetime(2020, 3, 1, 10, 30), dt.datetime(2020, 3, 4, 12, 0), 1, "DJ189", 1301]
    )
    ws.append([B, "02-03-2020 08:00", "05.03.2020", 2, "DN39.0", 1301])
    ws.append([None, None, None, None, None, None])
    ws.append([C, dt.datetime(2020, 3, 5), dt.datetime(2020, 3, 4), 1, "DJ189", 1301])
    wb.save(HERE / "two_row_header_admissions.xlsx")

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["cpr", "kommune", "uddannelse", "indkomstkvintil", "bor_alene"])
    ws.append([int(A.replace("-", "")), 326, "grundskole", 1, "ja"])  # leading zero lost
    ws.append([int(B.replace("-", "")), 326, "mellemlang", 6, "nej"])  # quintile 6
    ws.append([B, 326, "Mellemlange videregående uddannelser", 3, True])
    wb.save(HERE / "excel_cpr_number_persons.xlsx")


if __name__ == "__main__":
    main()
    print(f"corpus written to {HERE}")
