package order

import "strconv"

// path names a value inside an order the way errors print it:
// "order_uid", "payment.amount", "items[2].price", "items[2]".
//
// Decode and Validate carry paths as this small struct and only render
// them when they report a problem, so a good order costs no string building.
type path struct {
	parent string // "" for a top-level key, else "delivery", "payment" or "items"
	index  int    // position in items when parent is "items", else -1
	key    string // "" names the parent (or the item) itself
}

func topLevel(key string) path { return path{index: -1, key: key} }

func nested(parent, key string) path { return path{parent: parent, index: -1, key: key} }

func item(i int) path { return path{parent: "items", index: i} }

func itemKey(i int, key string) path { return path{parent: "items", index: i, key: key} }

// child names key inside the object p names. The document and items[i]
// are the objects whose own path has no key.
func (p path) child(key string) path {
	if p.key == "" {
		return path{parent: p.parent, index: p.index, key: key}
	}
	return path{parent: p.key, index: -1, key: key}
}

func (p path) String() string {
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
