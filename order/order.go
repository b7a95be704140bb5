// Package order holds the order model that every layer of orderd shares: the
// types, their JSON shape (the shape of shared/model.json, key for key), the
// decoder for untrusted bytes, the validation rules and the canonical encoder.
//
// It imports nothing from orderd outside order/: its helpers live in
// order/internal (fieldpath, formats, jsonsyntax, rfc3339, textarena), each
// importing nothing of orderd's either.
package order

import (
	"fmt"
	"time"

	"github.com/orderd/orderd/order/internal/rfc3339"
)

// Order is one customer order as it arrives on Kafka and as GET /order/{id}
// serves it. Field order matches the JSON key order of the canonical model.
type Order struct {
	OrderUID          string   `json:"order_uid"`
	TrackNumber       string   `json:"track_number"`
	Entry             string   `json:"entry"`
	Delivery          Delivery `json:"delivery"`
	Payment           Payment  `json:"payment"`
	Items             []Item   `json:"items"`
	Locale            string   `json:"locale"`
	InternalSignature string   `json:"internal_signature"`
	CustomerID        string   `json:"customer_id"`
	DeliveryService   string   `json:"delivery_service"`
	Shardkey          string   `json:"shardkey"`
	SmID              int64    `json:"sm_id"`
	// DateCreated keeps the producer's RFC 3339 text as sent, so the order is
	// served back byte for byte as it was accepted.
	DateCreated string `json:"date_created"`
	OofShard    string `json:"oof_shard"`
}

// Delivery is where and to whom the order goes.
type Delivery struct {
	Name    string `json:"name"`
	Phone   string `json:"phone"`
	Zip     string `json:"zip"`
	City    string `json:"city"`
	Address string `json:"address"`
	Region  string `json:"region"`
	Email   string `json:"email"`
}

// Payment is the order's single payment. Money is in minor units of Currency.
type Payment struct {
	Transaction  string `json:"transaction"`
	RequestID    string `json:"request_id"`
	Currency     string `json:"currency"`
	Provider     string `json:"provider"`
	Amount       int64  `json:"amount"`
	PaymentDt    int64  `json:"payment_dt"`
	Bank         string `json:"bank"`
	DeliveryCost int64  `json:"delivery_cost"`
	GoodsTotal   int64  `json:"goods_total"`
	CustomFee    int64  `json:"custom_fee"`
}

// Item is one line of the order.
type Item struct {
	ChrtID      int64  `json:"chrt_id"`
	TrackNumber string `json:"track_number"`
	Price       int64  `json:"price"`
	Rid         string `json:"rid"`
	Name        string `json:"name"`
	Sale        int64  `json:"sale"`
	Size        string `json:"size"`
	TotalPrice  int64  `json:"total_price"`
	NmID        int64  `json:"nm_id"`
	Brand       string `json:"brand"`
	Status      int64  `json:"status"`
}

// CreatedAt returns the instant o.DateCreated names, in UTC, or an error if
// it is not an RFC 3339 timestamp as Validate requires.
//
// Storage uses it to get the timestamp without restating the rule. The text
// itself stays in the order as the producer wrote it; the returned time is
// normalised to UTC whatever offset the text carries.
func CreatedAt(o *Order) (time.Time, error) {
	t, ok := rfc3339.Parse(o.DateCreated)
	if !ok {
		return time.Time{}, fmt.Errorf("parse date_created %q: want RFC 3339, e.g. 2021-11-26T06:22:19Z", o.DateCreated)
	}
	return t, nil
}
