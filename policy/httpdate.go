package policy

import (
	"strings"
	"time"
)

// Names as RFC 9110 §5.6.7 spells them; the index of a day is its
// time.Weekday, the index of a month plus one its time.Month.
var (
	dayNames     = []string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}
	longDayNames = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	monthNames   = []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
)

// ParseHTTPDate parses an HTTP-date (RFC 9110 §5.6.7) exactly as the grammar
// has it, in one of its three forms:
//
//	Sun, 06 Nov 1994 08:49:37 GMT   IMF-fixdate
//	Sunday, 06-Nov-94 08:49:37 GMT  obsolete RFC 850
//	Sun Nov  6 08:49:37 1994        obsolete asctime
//
// Names are case-sensitive, as the RFC says HTTP-date is; every number has
// its fixed count of digits; each separator is one SP. Anything else is
// rejected: a one-digit hour, a doubled space, "gmt", "UTC", trailing text,
// a day that is not in its month. Whitespace around the whole value is field
// syntax, not the date's, and is ignored. A second of 60 (a leap second,
// which the grammar allows) is read as the next second.
//
// The day-name must agree with the date in IMF-fixdate, which every current
// sender generates (RFC 9110 requires it), so a disagreement means a broken
// generator. It is not checked in the obsolete forms: their senders are old
// software, and an RFC 850 century is only inferred.
//
// An RFC 850 two-digit year more than 50 years after the current year is the
// most recent past year with those digits (RFC 9110 §5.6.7).
func ParseHTTPDate(s string) (time.Time, bool) {
	return parseHTTPDate(s, time.Time{})
}

// parseHTTPDate is ParseHTTPDate with the time an RFC 850 two-digit year is
// read against, such as when the response was received; zero means now.
func parseHTTPDate(s string, ref time.Time) (time.Time, bool) {
	s = strings.Trim(s, " \t")
	if t, ok := parseIMFFixdate(s); ok {
		return t, true
	}
	if t, ok := parseRFC850Date(s, ref); ok {
		return t, true
	}
	return parseASCTime(s)
}

// parseIMFFixdate reads "Sun, 06 Nov 1994 08:49:37 GMT".
func parseIMFFixdate(s string) (time.Time, bool) {
	p := dateScanner{rest: s, ok: true}
	weekday := p.name(dayNames)
	p.literal(", ")
	day := p.digits(2)
	p.literal(" ")
	month := p.name(monthNames) + 1
	p.literal(" ")
	year := p.digits(4)
	p.literal(" ")
	hour, minute, second := p.timeOfDay()
	p.literal(" GMT")
	t, ok := p.date(year, month, day, hour, minute, second)
	return t, ok && weekdayOf(year, month, day) == time.Weekday(weekday)
}

// parseRFC850Date reads "Sunday, 06-Nov-94 08:49:37 GMT".
func parseRFC850Date(s string, ref time.Time) (time.Time, bool) {
	p := dateScanner{rest: s, ok: true}
	p.name(longDayNames)
	p.literal(", ")
	day := p.digits(2)
	p.literal("-")
	month := p.name(monthNames) + 1
	p.literal("-")
	year := p.digits(2)
	p.literal(" ")
	hour, minute, second := p.timeOfDay()
	p.literal(" GMT")
	if ref.IsZero() {
		ref = time.Now()
	}
	return p.date(fullYear(year, ref.UTC().Year()), month, day, hour, minute, second)
}

// parseASCTime reads "Sun Nov  6 08:49:37 1994"; the day is two digits or
// a space and one digit.
func parseASCTime(s string) (time.Time, bool) {
	p := dateScanner{rest: s, ok: true}
	p.name(dayNames)
	p.literal(" ")
	month := p.name(monthNames) + 1
	p.literal(" ")
	var day int
	if strings.HasPrefix(p.rest, " ") {
		p.literal(" ")
		day = p.digits(1)
	} else {
		day = p.digits(2)
	}
	p.literal(" ")
	hour, minute, second := p.timeOfDay()
	p.literal(" ")
	year := p.digits(4)
	return p.date(year, month, day, hour, minute, second)
}

// fullYear places an RFC 850 two-digit year in the 100 years ending 50 years
// after refYear: RFC 9110 §5.6.7 reads a year more than 50 years ahead as the
// most recent past year with the same last two digits.
func fullYear(twoDigits, refYear int) int {
	year := refYear - refYear%100 + twoDigits
	switch {
	case year > refYear+50:
		year -= 100
	case year <= refYear-50:
		year += 100
	}
	return year
}

func weekdayOf(year, month, day int) time.Weekday {
	return time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC).Weekday()
}

// dateScanner consumes a date from the front of rest; after the first
// mismatch ok is false and every later step is a no-op.
type dateScanner struct {
	rest string
	ok   bool
}

func (p *dateScanner) literal(want string) {
	if p.ok && strings.HasPrefix(p.rest, want) {
		p.rest = p.rest[len(want):]
		return
	}
	p.ok = false
}

// digits reads exactly n ASCII digits.
func (p *dateScanner) digits(n int) int {
	if !p.ok || len(p.rest) < n {
		p.ok = false
		return 0
	}
	v := 0
	for _, c := range []byte(p.rest[:n]) {
		if !isDigit(c) {
			p.ok = false
			return 0
		}
		v = v*10 + int(c-'0')
	}
	p.rest = p.rest[n:]
	return v
}

// name reads one of names, case-sensitively, and returns its index.
func (p *dateScanner) name(names []string) int {
	for i, n := range names {
		if p.ok && strings.HasPrefix(p.rest, n) {
			p.rest = p.rest[len(n):]
			return i
		}
	}
	p.ok = false
	return 0
}

// timeOfDay reads "08:49:37".
func (p *dateScanner) timeOfDay() (hour, minute, second int) {
	hour = p.digits(2)
	p.literal(":")
	minute = p.digits(2)
	p.literal(":")
	second = p.digits(2)
	return hour, minute, second
}

// date checks that the whole value was read and names a real instant: a
// day in its month, 00:00:00 to 23:59:60, a four-digit year.
func (p *dateScanner) date(year, month, day, hour, minute, second int) (time.Time, bool) {
	if !p.ok || p.rest != "" || hour > 23 || minute > 59 || second > 60 ||
		day < 1 || day > daysIn(year, month) {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, second, 0, time.UTC)
	if t.Year() < 0 || t.Year() > 9999 { // a leap second can roll 9999 over
		return time.Time{}, false
	}
	return t, true
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
