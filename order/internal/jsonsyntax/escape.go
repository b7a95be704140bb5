package jsonsyntax

import "unicode/utf8"

// AppendString appends s as a JSON string escaped exactly as encoding/json
// escapes it with its default HTML escaping (see appendString in
// encoding/json/encode.go):
//
//   - `"` and `\` get a backslash; \b \f \n \r \t their short escapes;
//     other control characters \u00XX with lower-case hex;
//   - <, > and & become \u003c, \u003e, \u0026, so the JSON is safe to embed
//     in HTML;
//   - U+2028 and U+2029 become \u2028 and \u2029, which JavaScript
//     (JSONP) would otherwise read as line breaks;
//   - each byte of invalid UTF-8 becomes \ufffd (Validate rejects such
//     strings, but the encoder still agrees with encoding/json on them).
func AppendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0 // s[start:i] is pending: it needs no escaping
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if safeASCII[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default: // other control characters, <, >, &
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// safeASCII[b] reports whether ASCII byte b stands for itself inside an
// encoding/json string: printable, and not one of " \ < > &.
var safeASCII = func() (t [utf8.RuneSelf]bool) {
	for b := ' '; b < utf8.RuneSelf; b++ {
		t[b] = true
	}
	for _, b := range `"\<>&` {
		t[b] = false
	}
	return t
}()
