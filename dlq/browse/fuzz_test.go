package browse

import "testing"

// FuzzCursor: any text given as a cursor is either refused or names
// offsets to continue from; it never panics the listing's setup.
func FuzzCursor(f *testing.F) {
	for _, s := range []string{"", "1MDo1OjE2", "1", "2abc", "1!!!", "1" + "MDo1OjE2OjA"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_ = ValidCursor(s)
	})
}
