// Package fieldpath names a value inside an order the way decode and
// validation errors print it ("payment.amount", "items[2].price"), cheaply
// enough to carry on every field of a good order.
//
// It imports nothing of orderd's.
package fieldpath

import "strconv"

// Path names a value inside an order the way errors print it:
// "order_uid", "payment.amount", "items[2].price", "items[2]".
//
// Decode and Validate carry paths as this small struct and only render
// them when they report a problem, so a good order costs no string building.
type Path struct {
	parent string // "" for a top-level key, else "delivery", "payment" or "items"
	index  int    // position in items when parent is "items", else -1
	key    string // "" names the parent (or the item) itself
}

func TopLevel(key string) Path { return Path{index: -1, key: key} }

func Nested(parent, key string) Path { return Path{parent: parent, index: -1, key: key} }

func Item(i int) Path { return Path{parent: "items", index: i} }

func ItemKey(i int, key string) Path { return Path{parent: "items", index: i, key: key} }

// Child names key inside the object p names. The document and items[i]
// are the objects whose own path has no key.
func (p Path) Child(key string) Path {
	if p.key == "" {
		return Path{parent: p.parent, index: p.index, key: key}
	}
	return Path{parent: p.key, index: -1, key: key}
}

func (p Path) String() string {
	b := make([]byte, 0, 32)
	b = append(b, p.parent...)
	if p.index >= 0 {
		b = append(b, '[')
		b = strconv.AppendInt(b, int64(p.index), 10)
		b = append(b, ']')
	}
	if p.key != "" {
		if len(b) > 0 {
			b = append(b, '.')
		}
		b = append(b, p.key...)
	}
	return string(b)
}

// Document names the order itself, the object whose keys are top-level.
func Document() Path { return Path{index: -1} }
