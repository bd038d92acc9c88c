"""How dates and times read on every page in Spanish: the month in words, on a 12-hour clock as
families in the US read it."""

DATE_FORMAT = r"j \d\e F \d\e Y"  # 30 de noviembre de 2026
DATETIME_FORMAT = r"j \d\e F \d\e Y, g:i a"  # 30 de noviembre de 2026, 3:04 p.m.
TIME_FORMAT = "g:i a"  # 3:04 p.m.
MONTH_DAY_FORMAT = r"j \d\e F"
YEAR_MONTH_FORMAT = r"F \d\e Y"
SHORT_DATE_FORMAT = "d/m/Y"  # 30/11/2026
SHORT_DATETIME_FORMAT = "d/m/Y g:i a"
