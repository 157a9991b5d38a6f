"""Reading CSV and XLSX tables as Chinese offices produce them."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook

from geocover.errors import InputError
from geocover.io.encodings import detect_encoding
from geocover.io.spreadsheets import SOURCE_ROW, read_table

ROWS = "机构名称,经度,纬度,床位数\n城关镇中心卫生院,116.40,39.90,\"1,200\"\n李村卫生室,116.5,39.8,3\n合计,,,1203\n"


def write(path: Path, text: str, encoding: str) -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def problems_of(excinfo: pytest.ExceptionInfo[InputError]) -> list[str]:
    return [str(p) for p in excinfo.value.problems]


@pytest.mark.parametrize(
    ("encoding", "detected"), [("gbk", "gbk"), ("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig")]
)
def test_csv_encodings_detected(tmp_path, encoding, detected):
    frame = read_table(write(tmp_path / "机构.csv", ROWS, encoding))
    assert frame.attrs["encoding"] == detected
    assert list(frame.columns) == [SOURCE_ROW, "机构名称", "经度", "纬度", "床位数"]
    assert frame["机构名称"].tolist() == ["城关镇中心卫生院", "李村卫生室"]
    assert frame["经度"].tolist() == [116.4, 116.5]
    assert frame["床位数"].tolist() == [1200, 3]  # thousands separator read
    assert frame[SOURCE_ROW].tolist() == [2, 3]  # header is row 1, as in a spreadsheet
    assert frame.attrs["dropped_total_rows"] == [4]


def test_gb18030_character_outside_gbk(tmp_path):
    text = ROWS.replace("李村", "𠮷村")
    with pytest.raises(UnicodeEncodeError):
        text.encode("gbk")
    frame = read_table(write(tmp_path / "gb18030.csv", text, "gb18030"))
    assert frame.attrs["encoding"] == "gb18030"
    assert frame["机构名称"].iloc[1] == "𠮷村卫生室"


def test_detect_encoding_bytes():
    assert detect_encoding("卫生院".encode("gbk")) == "gbk"
    assert detect_encoding("\ufeffa".encode()) == "utf-8-sig"
    assert detect_encoding(b"Caf\xe9,1,2") is None


def test_semicolon_csv_codes_and_header_cleanup(tmp_path):
    text = (
        "\"机构\n名称\";乡镇代码;邮编;床位数（张）;;床位数（张）\n"
        "甲镇卫生院;130102001000;050000;12;x;1\n"
        "乙镇卫生院;130102002000;050001;8;y;2\n"
    )
    frame = read_table(write(tmp_path / "codes.csv", text, "utf-8"))
    assert list(frame.columns) == [SOURCE_ROW, "机构名称", "乡镇代码", "邮编", "床位数(张)", "column_5",
                                   "床位数(张)_2"]
    assert frame["乡镇代码"].tolist() == ["130102001000", "130102002000"]  # codes stay text
    assert frame["邮编"].tolist() == ["050000", "050001"]  # leading zeros kept
    assert frame["床位数(张)"].tolist() == [12, 8]


def make_workbook(path: Path) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "名录"
    ws.append(["XX县医疗卫生机构名录（2023年）"])
    ws.merge_cells("A1:F1")
    ws.append(["填报单位：XX县卫生健康局", None, None, None, "填报日期：2024-01-05"])
    ws.append(["乡镇", "机构名称", "坐标", None, "机构类别代码", "床位数"])
    ws.append([None, None, "经度", "纬度"])
    for col in "ABEF":
        ws.merge_cells(f"{col}3:{col}4")
    ws.merge_cells("C3:D3")
    ws.append(["城关镇", "城关镇卫生院", 116.40, 39.90, "C120", 30])
    ws.append([None, "城关镇社区卫生服务中心", 116.41, 39.91, "B100", 20])
    ws.merge_cells("A5:A6")
    ws.append(["小计", None, None, None, None, 50])
    ws.append(["河西乡", "河西乡中心卫生院", 116.2, 39.7, "C121", 40])
    ws.append([None])
    ws.append(["合　计", None, None, None, None, 90])
    ws.append(["注：床位数为编制床位"])
    other = wb.create_sheet("村卫生室")
    other.append(["名称", "经度", "纬度"])
    other.append(["东村卫生室", 116.3, 39.8])
    wb.save(path)
    return path


def test_xlsx_title_rows_merged_header_and_totals(tmp_path):
    frame = read_table(make_workbook(tmp_path / "名录.xlsx"))
    assert list(frame.columns) == [SOURCE_ROW, "乡镇", "机构名称", "坐标_经度", "坐标_纬度", "机构类别代码",
                                   "床位数"]
    assert frame["机构名称"].tolist() == ["城关镇卫生院", "城关镇社区卫生服务中心", "河西乡中心卫生院"]
    assert frame["乡镇"].tolist() == ["城关镇", "城关镇", "河西乡"]  # merged cell filled down
    assert frame[SOURCE_ROW].tolist() == [5, 6, 8]  # Excel row numbers
    assert frame["坐标_经度"].tolist() == [116.4, 116.41, 116.2]
    assert frame.attrs["header_row"] == 3
    assert frame.attrs["dropped_total_rows"] == [7, 10, 11]  # 小计, 合计, footnote
    assert frame.attrs["sheet"] == "名录"


@pytest.mark.parametrize("sheet", ["村卫生室", 1])
def test_xlsx_other_sheet(tmp_path, sheet):
    frame = read_table(make_workbook(tmp_path / "名录.xlsx"), sheet=sheet)
    assert frame["名称"].tolist() == ["东村卫生室"]
    assert frame[SOURCE_ROW].tolist() == [2]


# ---- bad inputs: every message names the file and says what to do ----------------------


def test_missing_file(tmp_path):
    with pytest.raises(InputError) as excinfo:
        read_table(tmp_path / "无此文件.csv")
    assert problems_of(excinfo) == [
        f"{tmp_path / '无此文件.csv'}: file not found. check the path and the file name"
    ]


def test_empty_csv(tmp_path):
    path = write(tmp_path / "empty.csv", "\ufeff\n\n", "utf-8")
    with pytest.raises(InputError) as excinfo:
        read_table(path)
    (message,) = problems_of(excinfo)
    assert message.startswith(f"{path}: the file is empty")


def test_undecodable_csv(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"name,lon,lat\nCaf\xe9,1,2\n")
    with pytest.raises(InputError) as excinfo:
        read_table(path)
    (message,) = problems_of(excinfo)
    assert str(path) in message and "neither UTF-8, GBK nor GB18030" in message
    assert "CSV UTF-8" in message


def test_unknown_sheet_lists_sheets(tmp_path):
    path = make_workbook(tmp_path / "名录.xlsx")
    with pytest.raises(InputError) as excinfo:
        read_table(path, sheet="卫生院")
    (message,) = problems_of(excinfo)
    assert str(path) in message and "no sheet '卫生院'" in message
    assert "名录, 村卫生室" in message


def test_sheet_position_out_of_range(tmp_path):
    path = make_workbook(tmp_path / "名录.xlsx")
    with pytest.raises(InputError, match="no sheet 5; its sheets are: 名录, 村卫生室"):
        read_table(path, sheet=5)


def test_empty_sheet(tmp_path):
    path = tmp_path / "blank.xlsx"
    wb = Workbook()
    wb.active.title = "空表"
    wb.save(path)
    with pytest.raises(InputError) as excinfo:
        read_table(path)
    (message,) = problems_of(excinfo)
    assert f"{path} [sheet '空表']: the table is empty" in message


def test_old_xls_and_unknown_suffix(tmp_path):
    for name, expected in (("old.xls", "save it as .xlsx"), ("table.ods", "use a .csv or .xlsx")):
        path = tmp_path / name
        path.write_bytes(b"\x00")
        with pytest.raises(InputError) as excinfo:
            read_table(path)
        (message,) = problems_of(excinfo)
        assert str(path) in message and expected in message


def test_sheet_given_for_csv(tmp_path):
    path = write(tmp_path / "a.csv", ROWS, "utf-8")
    with pytest.raises(InputError, match="a.csv: sheet= was given but a CSV file has no sheets"):
        read_table(path, sheet="Sheet1")


def test_csv_with_title_row_above_header(tmp_path):
    text = "XX县医疗机构名录,,\n机构名称,经度,纬度\n甲镇卫生院,116.4,39.9\n"
    frame = read_table(write(tmp_path / "titled.csv", text, "gbk"))
    assert list(frame.columns) == [SOURCE_ROW, "机构名称", "经度", "纬度"]
    assert frame[SOURCE_ROW].tolist() == [3]
    assert frame.attrs["header_row"] == 2


def test_statistics_header_with_years(tmp_path):
    path = tmp_path / "stats.xlsx"
    wb = Workbook()
    ws = wb.active
    ws.append(["常住人口（人）"])
    ws.append(["乡镇代码", "乡镇", 2021, 2022])
    ws.append(["130102001000", "城关镇", 52310, 53002])
    ws.append(["130102002000", "河西乡", 18220, 18004])
    wb.save(path)
    frame = read_table(path)
    assert list(frame.columns) == [SOURCE_ROW, "乡镇代码", "乡镇", "2021", "2022"]
    assert frame["2022"].tolist() == [53002, 18004]
    assert frame["乡镇代码"].tolist() == ["130102001000", "130102002000"]
