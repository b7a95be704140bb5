package order

import "strings"

// The three error types below are the whole vocabulary of "this message is
// not a good order". All three are poison: retrying the same bytes gives the
// same answer, so a consumer dead-letters the message at once. They differ in
// how far the bytes got, which is what the dead-letter headers report.

// SyntaxError reports bytes that are not one strict RFC 8259 JSON value:
// empty input, a syntax error, trailing data after the top-level value,
// nesting deeper than the parser allows, or an unpaired UTF-16 surrogate escape.
type SyntaxError struct {
	// Detail says what was wrong and where, in the parser's words.
	Detail string
}

// Error returns "invalid JSON: " and the detail.
func (e *SyntaxError) Error() string { return "invalid JSON: " + e.Detail }

// FieldError reports well-formed JSON that is not an order: a required key is
// missing or repeated, a value has the wrong JSON type, or an integer does not
// fit int64. Decode stops at the first one.
type FieldError struct {
	// Field is the dotted path of the offending value, e.g. "payment.amount",
	// "items[2].price", "delivery", or "" for the document itself (which
	// Error prints as "document").
	Field string
	// Problem is what is wrong with it, e.g. "missing" or
	// "want integer, got string".
	Problem string
}

// Error returns "<field>: <problem>".
func (e *FieldError) Error() string {
	if e.Field == "" {
		return "document: " + e.Problem
	}
	return e.Field + ": " + e.Problem
}

// Violation is one broken business rule, found by Validate.
type Violation struct {
	// Field is the dotted path of the value that breaks the rule, e.g.
	// "items[0].sale"; "..." for the entry that counts violations left out.
	Field string
	// Rule says what the value must be, and usually what it was.
	Rule string
}

// ValidationError reports a decoded order that breaks business rules. Unlike
// FieldError it lists every violation (up to MaxViolations, then one entry
// counting the rest), so a producer can fix them all in one round.
type ValidationError struct {
	// Violations are in struct field order; never empty.
	Violations []Violation
}

// Error returns every violation as "<field>: <rule>", joined with "; ".
func (e *ValidationError) Error() string {
	var b strings.Builder
	for i, v := range e.Violations {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(v.Field)
		b.WriteString(": ")
		b.WriteString(v.Rule)
	}
	return b.String()
}
