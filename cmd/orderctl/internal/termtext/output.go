// Package termtext prints bytes that some producer sent (keys, headers,
// payloads) so that they can be read and cannot drive the operator's
// terminal: printable UTF-8 as it is, anything else as a Go quoted string,
// JSON indented, table cells clipped.
//
// It imports nothing of orderd's.
package termtext

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Everything orderctl prints from a dead letter (keys, headers, payloads)
// is whatever some producer sent. Text is printed as it is only when it is
// valid UTF-8 of printable characters; anything else is printed as a Go
// quoted string (strconv.Quote), so a byte that is not UTF-8 shows as \xff
// and no control character reaches the operator's terminal.

// Printable reports whether s can be printed as it is: valid UTF-8 whose
// every character is printable or a tab.
func Printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) && r != '\t' {
			return false
		}
	}
	return true
}

// Shown is s as it is when printable, quoted otherwise.
func Shown(s string) string {
	if Printable(s) {
		return s
	}
	return strconv.Quote(s)
}

// WriteLines writes text line by line, each shown: a line that is not
// printable is quoted on its own, so the rest stays readable.
func WriteLines(w io.Writer, text []byte) {
	for line := range bytes.Lines(text) {
		fmt.Fprintln(w, Shown(string(bytes.TrimSuffix(line, []byte("\n")))))
	}
}

// IndentJSON returns b indented when it is JSON, and false when it is not.
func IndentJSON(b []byte) ([]byte, bool) {
	if !json.Valid(b) {
		return nil, false
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return nil, false
	}
	// json.Indent drops leading white space but keeps the trailing.
	return bytes.TrimRight(out.Bytes(), " \t\r\n"), true
}

// Cell fits s into one table cell: white space collapsed, shown (quoted
// when not printable), cut to width characters; "-" when empty.
func Cell(s string, width int) string {
	s = Shown(strings.Join(strings.Fields(s), " "))
	if s == "" {
		return "-"
	}
	return Clip(s, width)
}

// Clip cuts s to n characters, the last an ellipsis when anything was cut.
func Clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
