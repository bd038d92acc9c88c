"""How dates and times read on every page in English: month names, never 11/30 or 30/11 (staff read
charts from families who write dates both ways), and the same birth date on every page."""

DATE_FORMAT = "M j, Y"  # Nov 30, 2026
DATETIME_FORMAT = "M j, Y, g:i A"  # Nov 30, 2026, 3:04 PM
TIME_FORMAT = "g:i A"  # 3:04 PM
MONTH_DAY_FORMAT = "M j"  # Nov 30
YEAR_MONTH_FORMAT = "F Y"  # November 2026
SHORT_DATE_FORMAT = "m/d/Y"  # 11/30/2026: only where space is short, as in a text message
SHORT_DATETIME_FORMAT = "m/d/Y g:i A"
