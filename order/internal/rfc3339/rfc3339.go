// Package rfc3339 parses the RFC 3339 timestamps of date_created strictly
// and without allocating, for Validate and CreatedAt.
//
// It imports nothing but time.
package rfc3339

import "time"

// Parse parses s as RFC 3339 date-time: YYYY-MM-DDThh:mm:ss, an
// optional fraction of 1 to 9 digits after a '.', then Z or ±hh:mm.
//
// It accepts what the strict path of time.Parse(time.RFC3339Nano, s) accepts,
// less fractions finer than a nanosecond (time.Parse truncates them; we would
// rather not store a time other than the one sent), and returns the same
// instant, but always in UTC: time.Parse builds a new *time.Location for every
// offset that is not the local zone's, and Validate must not allocate.
// time.Parse falls back to a looser parser for some malformed input (a ','
// before the fraction, a one-digit hour); this does not. As in time.Parse,
// T and Z must be upper case and the second must not be 60.
func Parse(s string) (time.Time, bool) {
	if len(s) < len("2006-01-02T15:04:05Z") ||
		s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	year, ok1 := digits(s[0:4], 0, 9999)
	month, ok2 := digits(s[5:7], 1, 12)
	day, ok3 := digits(s[8:10], 1, 31)
	hour, ok4 := digits(s[11:13], 0, 23)
	minute, ok5 := digits(s[14:16], 0, 59)
	sec, ok6 := digits(s[17:19], 0, 59)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || day > daysIn(month, year) {
		return time.Time{}, false
	}
	s = s[19:]

	nsec := 0
	if s[0] == '.' {
		n := 1
		for n < len(s) && '0' <= s[n] && s[n] <= '9' {
			n++
		}
		frac := s[1:n]
		if len(frac) < 1 || len(frac) > 9 {
			return time.Time{}, false
		}
		nsec, _ = digits(frac, 0, 999_999_999)
		for range 9 - len(frac) {
			nsec *= 10
		}
		s = s[n:]
	}

	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if s == "Z" {
		return t, true
	}
	if len(s) != len("+07:00") || (s[0] != '+' && s[0] != '-') || s[3] != ':' {
		return time.Time{}, false
	}
	oh, ok1 := digits(s[1:3], 0, 23)
	om, ok2 := digits(s[4:6], 0, 59)
	if !ok1 || !ok2 {
		return time.Time{}, false
	}
	offset := time.Duration(oh)*time.Hour + time.Duration(om)*time.Minute
	if s[0] == '-' {
		offset = -offset
	}
	// Local time minus its offset from UTC is UTC.
	return t.Add(-offset), true
}

// digits parses s, all decimal digits, as a number in [lo, hi].
func digits(s string, lo, hi int) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, lo <= n && n <= hi
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
