package order

import (
	"strings"
	"unicode"
)

// The predicates behind Validate's format rules. Each is allocation-free and
// deliberately simple: the rules are documented in validate.go, and a reader
// should be able to check a predicate against its rule at a glance.

// ValidUID reports whether s can be an order_uid: 1 to MaxUIDLen characters,
// each an ASCII letter, a digit, '_' or '-'.
//
// The HTTP layer calls it on every request to turn away ids that cannot
// name an order before they reach the cache or the database, so it neither
// allocates nor uses regexp.
func ValidUID(s string) bool {
	if len(s) == 0 || len(s) > MaxUIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// validCurrency reports whether s is three upper-case ASCII letters, the
// shape of an ISO 4217 code. Whether the code is assigned is not checked:
// the list changes, and the payment provider is the authority on it.
func validCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := range 3 {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// validEmail is a pragmatic check that catches garbage, not a parser for
// RFC 5322, which allows quoted local parts and comments that no shop
// mail system accepts: exactly one '@', a non-empty local part, a domain
// of at least two non-empty dot-separated labels, and no white space.
// Whether the mailbox exists is for the mail server to say.
func validEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || strings.IndexByte(domain, '@') >= 0 ||
		strings.ContainsFunc(s, unicode.IsSpace) {
		return false
	}
	if !strings.Contains(domain, ".") || domain[0] == '.' || domain[len(domain)-1] == '.' ||
		strings.Contains(domain, "..") {
		return false
	}
	return true
}

// validPhone reports whether s is an optional '+' followed by 7 to 15
// digits: the E.164 shape (at most 15 digits) without spaces or dashes,
// long enough for a local number without a country code.
func validPhone(s string) bool {
	s = strings.TrimPrefix(s, "+")
	if len(s) < 7 || len(s) > 15 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// checkedAdd returns a+b and whether it did not overflow int64. Money sums
// use it so that a hostile order cannot make a wrapped total match.
func checkedAdd(a, b int64) (int64, bool) {
	s := a + b
	// Overflow happened if a and b have the same sign and s has the other.
	return s, (a^s)&(b^s) >= 0
}
