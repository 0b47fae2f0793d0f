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
E = "020345-1237"  # 1945-03-02, M (used only in free text)
R60 = "610150-1235"  # replacement number: day + 60 (born 1950-01-01), M
RLET = "010150-A12B"  # replacement number with letters in the serial
CORPUS_CPRS = (A, B, C, D, E, R60, RLET)
"""Every CPR (and replacement) number in the corpus, for the audit test."""


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

    issue11()


def issue11() -> None:
    """Files of issue 11: CPR numbers in odd places, Danish notations, sheets, thresholds."""
    import openpyxl

    a9 = A.replace("-", "")[1:]  # 101501235: A after Excel dropped its leading zero
    # 32. CPR that lost its leading zero in a person-id column (not a CPR column); a 9-digit
    # running number that is no CPR number stays an identifier
    text(
        "lost_zero_personid_falls.csv",
        f"lbnr;faldsdato\n{a9};03-01-2021\np002;04-01-2021\n123456789;05-01-2021\n",
    )
    # 33. the same in Excel: numbers in a 'personid' column
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["personid", "dato", "indsats"])
    ws.append([int(A.replace("-", "")), dt.datetime(2021, 2, 2), "Faldforebyggelse"])
    ws.append([int(B.replace("-", "")), dt.datetime(2021, 2, 3), "Faldforebyggelse"])
    wb.save(HERE / "lost_zero_personid_interventions.xlsx")
    # 34. CPR numbers inside free text (hospital column): with dash, with space, no dash
    text(
        "cpr_in_free_text_admissions.csv",
        "person_id;inddto;uddto;akut;adiag;sygehus\n"
        f"p001;01-03-2020;05-03-2020;1;DJ189;Overflyttet, pt. {E}\n"
        f"p002;01-03-2020;05-03-2020;1;DJ189;CPR {B.replace('-', ' ')}\n"
        f"p003;01-03-2020;05-03-2020;1;DJ189;akut{C.replace('-', '')} se journal\n"
        "p004;01-03-2020;05-03-2020;1;DJ189;1301\n"
        "p005;01-03-2020;05-03-2020;1;DJ189;Afsnit 2020-03-01 kl 10\n",
    )
    # 35. CPR in a person-id value with other text around it
    text(
        "cpr_inside_person_id_falls.csv",
        f"person_id;fall_date\npt {A};03-01-2021\np002;04-01-2021\n",
    )
    # 36. CPR in the file name (and one bad row, so the rejects name the file)
    text(
        f"cpr_in_file_name_{A}_falls.csv",
        "person_id;fall_date\np001;03-01-2021\np002;31-02-2021\n",
    )
    # 37. CPR used as a column name (an ignored column)
    text(
        "cpr_column_name_falls.csv",
        f"person_id;fall_date;{B.replace('-', '')}\np001;03-01-2021;x\np002;04-01-2021;y\n",
    )
    # 38. CPR numbers as sheet names
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = C
    ws.append(["person_id", "fall_date"])
    ws.append(["p001", dt.datetime(2021, 1, 3)])
    ws2 = wb.create_sheet(D)  # a second sheet, so the sheet names enter the file labels
    ws2.append(["person_id", "fall_date"])
    ws2.append(["p002", "32-01-2021"])
    wb.save(HERE / "cpr_sheet_name_falls.xlsx")
    # 39. future dates (extract made 31-12-2024): admission/discharge 2031 and 2025
    text(
        "future_dates_admissions.csv",
        "person_id;inddto;uddto;akut;adiag\n"
        "p001;01-03-2020 10:00;05-03-2020 12:00;1;DJ189\n"
        "p002;01-03-2031 10:00;05-03-2031 12:00;1;DJ189\n"
        "p003;30-12-2024 10:00;02-01-2025 12:00;1;DJ189\n"
        "p004;31-12-2024 10:00;31-12-2024 23:59;1;DJ189\n",
    )
    # 40. future death and birth dates
    text(
        "future_dates_persons.csv",
        "person_id;kommune;foedselsdato;koen;doedsdato\n"
        "p001;326;01-01-1940;K;15-06-2023\n"
        "p002;326;01-01-1940;M;15-06-2031\n"
        "p003;326;01-01-2030;M;\n",
    )
    # 41. care: start in 2031 rejected; a planned end in 2031 kept
    text(
        "future_care_start_care.csv",
        "person_id;ydelse;startdato;slutdato;timer_pr_uge\n"
        "p001;hjemmepleje;01-01-2031;;2\n"
        "p002;hjemmepleje;01-01-2024;31-12-2031;2\n",
    )
    # 42. yyyymmdd dates
    text("yyyymmdd_falls.csv", "person_id;fall_date\np001;20210103\np002;20210104\np003;20211304\n")
    # 43. datetimes written '15-01-2020 kl. 14:30' (and kl. 09.05)
    text(
        "kl_datetime_admissions.csv",
        "person_id;inddto;uddto;akut;adiag\n"
        "p001;15-01-2020 kl. 14:30;16-01-2020 kl. 09.05;1;DJ189\n"
        "p002;15-01-2020 kl.14:30;2020-01-17 kl. 10:00;1;DJ189\n",
    )
    # 44. a trailing ';' on the data lines only (not on the header)
    text(
        "trailing_delimiter_falls.csv",
        "person_id;fall_date\np001;03-01-2021;\np002;04-01-2021;\np003;05-01-2021;\n"
        "p004;06-01-2021;oops\n",
    )
    # 45. Excel serial day numbers in a CSV (43833 = 2020-01-03), a year is not a date
    text(
        "excel_serial_falls.csv",
        "person_id;fall_date\np001;43833\np002;43834,0\np003;2020\n",
    )
    # 46. unformatted Excel cells holding serial numbers (date-times with a fraction)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["person_id", "inddto", "uddto", "akut", "adiag"])
    ws.append(["p001", 43845.604166666664, 43846.5, 1, "DJ189"])  # 15-01-2020 14:30
    ws.append(["p002", 43846, 43847.25, 1, "DJ189"])  # 16-01-2020 00:00
    wb.save(HERE / "excel_serial_admissions.xlsx")
    # 47. a workbook with two sheets of the same table (and a notes sheet)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "2020"
    ws.append(["person_id", "fall_date"])
    ws.append(["p001", dt.datetime(2020, 1, 3)])
    ws.append(["p002", "31-02-2020"])
    ws2 = wb.create_sheet("2021")
    ws2.append(["person_id", "fall_date"])
    ws2.append(["p003", dt.datetime(2021, 1, 3)])
    ws2.append(["p004", dt.datetime(2021, 1, 4)])
    ws3 = wb.create_sheet("Noter")
    ws3.append(["Udtrukket af Sundhedsdatastyrelsen"])
    wb.save(HERE / "two_sheets_falls.xlsx")
    # 48. a workbook whose two sheets hold different tables: refused, naming the sheets
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Fald"
    ws.append(["person_id", "fall_date"])
    ws.append(["p001", dt.datetime(2020, 1, 3)])
    ws2 = wb.create_sheet("Indsatser")
    ws2.append(["person_id", "indsats", "dato"])
    ws2.append(["p001", "faldforebyggelse", dt.datetime(2020, 1, 3)])
    wb.save(HERE / "two_sheets_different_falls.xlsx")
    # 49. formula injection in rejected rows
    text(
        "formula_injection_falls.csv",
        "person_id;fall_date\n"
        'p001;=HYPERLINK("http://example.invalid","klik")\n'
        "p002;+cmd\n"
        "p003;@SUM(A1)\n"
        "p004;-2+3\n"
        "p005;03-01-2021\n",
    )
    # 50. replacement CPR numbers: day + 60, letters in the serial
    text(
        "replacement_cpr_persons.csv",
        f"cpr;kommune\n{R60};326\n{RLET};326\n{B};326\n",
    )
    # 51. a CPR number split by a space in a CPR column
    text("cpr_space_persons.csv", f"cpr;kommune\n{A.replace('-', ' ')};326\n")
    # 52. a file where most rows are bad (reject threshold)
    text(
        "mostly_bad_falls.csv",
        "person_id;fall_date\n"
        + "".join(f"p{i:03d};15/15/2020\n" for i in range(6))
        + "".join(f"p{i:03d};03-01-2021\n" for i in range(6, 10)),
    )
    # 53. the kommune sent dates as yyyymmdd, times 'kl.' and a trailing ';' at once
    text(
        "danish_export_admissions.csv",
        "CPR;Indlæggelsesdato;Udskrivningsdato;Indlæggelsesmåde;Aktionsdiagnose\n"
        f"{A};20200301 kl. 10:15;20200303 kl. 12:00;1;DJ18.9;\n"
        f"{B};20200302;20200305;2;DN39.0;\n",
        encoding="cp1252",
    )
    # 54. CPR numbers in a number column (contact id): as 10 digits and without the zero
    text(
        "cpr_as_contact_id_admissions.csv",
        "kontakt_id;person_id;inddto;uddto;akut;adiag\n"
        f"{A.replace('-', '')};p001;01-03-2020;05-03-2020;1;DJ189\n"
        f"{A.replace('-', '')[1:]};p002;01-03-2020;05-03-2020;1;DJ189\n"
        "123456789;p003;01-03-2020;05-03-2020;1;DJ189\n",
    )


if __name__ == "__main__":
    main()
    print(f"corpus written to {HERE}")
