package policy

import (
	"testing"
	"time"
)

// rfcExample is the instant of RFC 9110 §5.6.7's examples.
var rfcExample = time.Date(1994, time.November, 6, 8, 49, 37, 0, time.UTC)

func TestParseHTTPDate(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want time.Time // zero: rejected
	}{
		{"IMF-fixdate", "Sun, 06 Nov 1994 08:49:37 GMT", rfcExample},
		{"obsolete RFC 850", "Sunday, 06-Nov-94 08:49:37 GMT", rfcExample},
		{"obsolete asctime, day as SP DIGIT", "Sun Nov  6 08:49:37 1994", rfcExample},
		{"asctime, day as 2DIGIT", "Sun Nov 06 08:49:37 1994", rfcExample},
		{"whitespace around the field value is not the date's", " \tSun, 06 Nov 1994 08:49:37 GMT ", rfcExample},
		{"leap second reads as the next second", "Sat, 31 Dec 2016 23:59:60 GMT", time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"29 February of a leap year", "Tue, 29 Feb 2000 00:00:00 GMT", time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC)},
		{"beyond 2038 (32-bit time)", "Sun, 21 Nov 2286 04:46:39 GMT", time.Date(2286, 11, 21, 4, 46, 39, 0, time.UTC)},
		{"asctime day-name is not checked: cache-tests' own sample is a Monday", "Thu Aug  8 02:01:18 2050", time.Date(2050, 8, 8, 2, 1, 18, 0, time.UTC)},

		{"empty", "", time.Time{}},
		{"0", "0", time.Time{}},
		{"one-digit hour", "Sun, 06 Nov 1994 8:49:37 GMT", time.Time{}},
		{"one-digit day in IMF-fixdate", "Sun, 6 Nov 1994 08:49:37 GMT", time.Time{}},
		{"two spaces", "Sun, 06  Nov 1994 08:49:37 GMT", time.Time{}},
		{"two spaces before the zone", "Sun, 06 Nov 1994 08:49:37  GMT", time.Time{}},
		{"tab for SP", "Sun,\t06 Nov 1994 08:49:37 GMT", time.Time{}},
		{"lower-case zone", "Sun, 06 Nov 1994 08:49:37 gmt", time.Time{}},
		{"mixed-case zone", "Sun, 06 Nov 1994 08:49:37 Gmt", time.Time{}},
		{"UTC for GMT", "Sun, 06 Nov 1994 08:49:37 UTC", time.Time{}},
		{"numeric zone", "Sun, 06 Nov 1994 08:49:37 +0000", time.Time{}},
		{"no zone", "Sun, 06 Nov 1994 08:49:37", time.Time{}},
		{"upper-case day-name", "SUN, 06 Nov 1994 08:49:37 GMT", time.Time{}},
		{"upper-case month", "Sun, 06 NOV 1994 08:49:37 GMT", time.Time{}},
		{"lower-case RFC 850 day-name", "sunday, 06-Nov-94 08:49:37 GMT", time.Time{}},
		{"day-name disagrees with the date", "Mon, 06 Nov 1994 08:49:37 GMT", time.Time{}},
		{"two-digit year in IMF-fixdate", "Sun, 06 Nov 94 08:49:37 GMT", time.Time{}},
		{"missing comma", "Sun 06 Nov 1994 08:49:37 GMT", time.Time{}},
		{"date dashes with a four-digit year", "Sun, 06-Nov-1994 08:49:37 GMT", time.Time{}},
		{"time periods", "Sun, 06 Nov 1994 08.49.37 GMT", time.Time{}},
		{"trailing junk", "Sun, 06 Nov 1994 08:49:37 GMTx", time.Time{}},
		{"trailing text after a space", "Sun, 06 Nov 1994 08:49:37 GMT x", time.Time{}},
		{"asctime one space before a one-digit day", "Sun Nov 6 08:49:37 1994", time.Time{}},
		{"asctime with a zone", "Sun Nov  6 08:49:37 1994 GMT", time.Time{}},
		{"hour 24", "Sun, 06 Nov 1994 24:00:00 GMT", time.Time{}},
		{"minute 60", "Sun, 06 Nov 1994 08:60:00 GMT", time.Time{}},
		{"second 61", "Sun, 06 Nov 1994 08:49:61 GMT", time.Time{}},
		{"day 00", "Sun, 00 Nov 1994 08:49:37 GMT", time.Time{}},
		{"31 November", "Thu, 31 Nov 1994 08:49:37 GMT", time.Time{}},
		{"29 February of a common year", "Sun, 29 Feb 2025 00:00:00 GMT", time.Time{}},
		{"a leap second past year 9999", "Fri, 31 Dec 9999 23:59:60 GMT", time.Time{}},
		{"a sign in a number", "Sun, 06 Nov 1994 +8:49:37 GMT", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseHTTPDate(tt.in)
			if ok != !tt.want.IsZero() || !got.Equal(tt.want) {
				t.Errorf("ParseHTTPDate(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, !tt.want.IsZero())
			}
			if ok && got.Location() != time.UTC {
				t.Errorf("ParseHTTPDate(%q) is in %v, want UTC", tt.in, got.Location())
			}
		})
	}
}

// TestParseHTTPDateTwoDigitYear: RFC 9110 §5.6.7 reads an RFC 850 year that
// would be more than 50 years ahead of the reference as the most recent past
// year with the same last two digits.
func TestParseHTTPDateTwoDigitYear(t *testing.T) {
	tests := []struct {
		in       string
		ref      time.Time
		wantYear int
	}{
		{"Saturday, 01-Mar-25 00:00:00 GMT", t0, 2025},
		{"Friday, 01-Mar-75 00:00:00 GMT", t0, 2075}, // exactly 50 years ahead: not more
		{"Monday, 01-Mar-76 00:00:00 GMT", t0, 1976}, // 51 years ahead: the past
		{"Sunday, 06-Nov-94 08:49:37 GMT", t0, 1994},
		{"Tuesday, 29-Feb-00 00:00:00 GMT", t0, 2000},
		{"Thursday, 18-Aug-50 02:01:18 GMT", t0, 2050},
		{"Sunday, 01-Jan-30 00:00:00 GMT", time.Date(2080, 1, 1, 0, 0, 0, 0, time.UTC), 2130},
	}
	for _, tt := range tests {
		got, ok := parseHTTPDate(tt.in, tt.ref)
		if !ok || got.Year() != tt.wantYear {
			t.Errorf("parseHTTPDate(%q) received in %d = %v, %v; want year %d", tt.in, tt.ref.Year(), got, ok, tt.wantYear)
		}
	}
	// Without a reference the current year is used; 1994 stays in the past
	// until 2044.
	if got, ok := ParseHTTPDate("Sunday, 06-Nov-94 08:49:37 GMT"); !ok || !got.Equal(rfcExample) {
		t.Errorf("ParseHTTPDate of the RFC 850 example = %v, %v; want %v", got, ok, rfcExample)
	}
}
