// Package jsonsyntax holds the byte-level rules of the order's JSON that
// fastjson leaves to us: the strict checks the decoder runs after parsing
// (value count, unpaired surrogate escapes, a readable syntax error) and the
// string escaping the encoder writes, byte for byte as encoding/json does.
//
// It works on bytes and strings only: it never imports the order package or
// anything else of orderd's.
package jsonsyntax

import (
	"bytes"
	"strings"
	"unicode/utf16"
)

// Detail shortens a fastjson error to what went wrong and where.
// fastjson adds one "cannot parse X: " per nesting level ("cannot parse
// object: cannot parse object value: cannot parse array: ..."); only the
// innermost says what went wrong, and the quoted unparsed tail at the end
// says where.
func Detail(err error) string {
	s := strings.TrimPrefix(err.Error(), "cannot parse JSON: ")
	for strings.HasPrefix(s, "cannot parse ") {
		_, inner, ok := strings.Cut(s, ": ")
		if !ok || !strings.HasPrefix(inner, "cannot parse ") {
			break
		}
		s = inner
	}
	return s
}

// Separators counts the commas of data outside strings: one fewer than the
// values of its arrays and objects, near enough to bound them. data need not
// be valid JSON.
//
// It stops at limit, so it returns min(count, limit): the caller only asks
// whether a message reaches the limit, and a hostile megabyte of "0," then
// costs the scan of its first 2*limit bytes rather than all of them.
func Separators(data []byte, limit int) int {
	n := 0
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case ',':
			if n++; n >= limit {
				return n
			}
		case '"': // skip the string, escapes and all
			for i++; i < len(data); i++ {
				if data[i] == '\\' {
					i++
				} else if data[i] == '"' {
					break
				}
			}
		}
	}
	return n
}

// UnpairedSurrogate returns the offset of the first \uXXXX escape in data
// that is half of a UTF-16 surrogate pair without its other half, or -1.
//
// The grammar allows such escapes but they encode no character (I-JSON,
// RFC 7493, forbids them), and fastjson would keep them as the six literal
// characters `\ud800` where encoding/json substitutes U+FFFD. Rejecting them
// keeps Decode and json.Unmarshal in agreement on every string we accept.
//
// data must be valid JSON: then every backslash starts an escape inside a
// string, and \u is followed by four hex digits.
func UnpairedSurrogate(data []byte) int {
	for i := 0; ; {
		j := bytes.IndexByte(data[i:], '\\')
		if j < 0 {
			return -1
		}
		i += j
		if data[i+1] != 'u' {
			i += 2 // \" \\ \/ \b \f \n \r \t
			continue
		}
		r := hex4(data[i+2 : i+6])
		switch {
		case !utf16.IsSurrogate(r):
			i += 6
		case r < 0xdc00 && i+12 <= len(data) && data[i+6] == '\\' && data[i+7] == 'u' &&
			isLowSurrogate(hex4(data[i+8:i+12])):
			i += 12
		default:
			return i
		}
	}
}

func isLowSurrogate(r rune) bool { return 0xdc00 <= r && r <= 0xdfff }

// hex4 decodes four hex digits already known to be valid.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c <= '9':
			c -= '0'
		case c <= 'F':
			c -= 'A' - 10
		default:
			c -= 'a' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}
