// Package formats holds the predicates behind Validate's format rules for
// phone numbers, email addresses and currency codes. Each is
// allocation-free and deliberately simple: the rules are documented with
// Validate, and a reader should be able to check a predicate against its
// rule at a glance.
//
// It imports nothing of orderd's.
package formats

import (
	"strings"
	"unicode"
)

// Currency reports whether s is three upper-case ASCII letters, the
// shape of an ISO 4217 code. Whether the code is assigned is not checked:
// the list changes, and the payment provider is the authority on it.
func Currency(s string) bool {
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

// Email is a pragmatic check that catches garbage, not a parser for
// RFC 5322, which allows quoted local parts and comments that no shop
// mail system accepts: exactly one '@', a non-empty local part, a domain
// of at least two non-empty dot-separated labels, and no white space.
// Whether the mailbox exists is for the mail server to say.
func Email(s string) bool {
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

// Phone reports whether s is an optional '+' followed by 7 to 15
// digits: the E.164 shape (at most 15 digits) without spaces or dashes,
// long enough for a local number without a country code.
func Phone(s string) bool {
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
