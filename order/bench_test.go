package order_test

import (
	"testing"

	"github.com/orderd/orderd/order"
	"github.com/orderd/orderd/order/orderfake"
)

// benchInputs are the two shapes every benchmark runs on: the published
// model (indented, one item) and a generated order with ten items, the most
// the generator makes, in canonical form.
func benchInputs(b *testing.B) []struct {
	name string
	data []byte
} {
	b.Helper()
	g := orderfake.New(1)
	o := g.Order()
	for len(o.Items) != 10 {
		o = g.Order()
	}
	return []struct {
		name string
		data []byte
	}{
		{"model", orderfake.ModelJSON},
		{"10items", order.AppendJSON(nil, &o)},
	}
}

func decoded(b *testing.B, data []byte) order.Order {
	b.Helper()
	var o order.Order
	if err := order.NewDecoder().Decode(data, &o); err != nil {
		b.Fatal(err)
	}
	return o
}

func BenchmarkDecode(b *testing.B) {
	for _, in := range benchInputs(b) {
		b.Run(in.name, func(b *testing.B) {
			var (
				d order.Decoder
				o order.Order // reused, as a worker reuses its Order
			)
			b.ReportAllocs()
			b.SetBytes(int64(len(in.data)))
			for b.Loop() {
				if err := d.Decode(in.data, &o); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkValidate(b *testing.B) {
	for _, in := range benchInputs(b) {
		b.Run(in.name, func(b *testing.B) {
			o := decoded(b, in.data)
			b.ReportAllocs()
			for b.Loop() {
				if err := order.Validate(&o); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	for _, in := range benchInputs(b) {
		b.Run(in.name, func(b *testing.B) {
			o := decoded(b, in.data)
			buf := order.AppendJSON(nil, &o)
			b.ReportAllocs()
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				buf = order.AppendJSON(buf[:0], &o)
			}
		})
	}
}

// BenchmarkDecodeValidateEncode is the work of one accepted message: bytes
// from Kafka to a validated order and its canonical JSON for the cache.
func BenchmarkDecodeValidateEncode(b *testing.B) {
	for _, in := range benchInputs(b) {
		b.Run(in.name, func(b *testing.B) {
			var (
				d   order.Decoder
				o   order.Order
				buf []byte
			)
			b.ReportAllocs()
			b.SetBytes(int64(len(in.data)))
			for b.Loop() {
				if err := d.Decode(in.data, &o); err != nil {
					b.Fatal(err)
				}
				if err := order.Validate(&o); err != nil {
					b.Fatal(err)
				}
				buf = order.AppendJSON(buf[:0], &o)
			}
		})
	}
}

// BenchmarkDecode_HostileItems decodes a 1 MB message whose items array
// holds 500,000 zeros: refused when counted, it must not cost memory in
// proportion to the array.
func BenchmarkDecode_HostileItems(b *testing.B) {
	data := hostileItems(500_000)
	var (
		d order.Decoder
		o order.Order
	)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := d.Decode(data, &o); err == nil {
			b.Fatal("decoded a hostile message")
		}
	}
}

// Footprint runs twice per message (decode and validate re-weigh it for
// MAX_IN_FLIGHT_MB): next to BenchmarkDecode it should not show.
func BenchmarkFootprint(b *testing.B) {
	for _, in := range benchInputs(b) {
		b.Run(in.name, func(b *testing.B) {
			var o order.Order
			if err := order.NewDecoder().Decode(in.data, &o); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			var n int64
			for b.Loop() {
				n += o.Footprint()
			}
			if n <= 0 {
				b.Fatal("no footprint")
			}
		})
	}
}
