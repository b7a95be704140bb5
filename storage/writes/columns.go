package writes

import (
	"sync"
	"time"

	"github.com/orderd/orderd/order"
)

// columns holds one batch transposed into per-column arrays, the shape the
// set-based unnest statements take: one parameter per column instead of one
// statement per row. A columns value is reused through columnsPool, so a
// steady stream of batches allocates nothing here once the arrays have grown
// to the batch size; strings and JSON are referenced, never copied.
type columns struct {
	// orders
	uid, track, entry, locale, signature, customer, service, shardkey, oofShard []string
	smID                                                                        []int64
	itemCount                                                                   []int32
	created                                                                     []time.Time
	doc                                                                         [][]byte

	// deliveries
	dUID, dName, dPhone, dZip, dCity, dAddress, dRegion, dEmail []string

	// payments
	pUID, pTransaction, pRequestID, pCurrency, pProvider, pBank []string
	pAmount, pPaymentDt, pDeliveryCost, pGoodsTotal, pCustomFee []int64

	// items
	iUID, iTrack, iRid, iName, iSize, iBrand     []string
	iPosition                                    []int32
	iChrtID, iPrice, iSale, iTotal, iNmID, iStat []int64

	// stored lists the order_uids the orders insert skipped, to look up.
	stored []string

	// at maps an order_uid of this attempt to its position in idx, so rows
	// coming back from PostgreSQL find their record without a scan.
	at map[string]int
}

var columnsPool = sync.Pool{New: func() any { return &columns{at: make(map[string]int)} }}

func getColumns() *columns { return columnsPool.Get().(*columns) }

// put resets c and returns it to the pool. Every element is zeroed, not just
// the lengths, so a pooled value does not keep the last batch's strings and
// JSON alive.
func (c *columns) put() {
	c.uid, c.track, c.entry, c.locale, c.signature = reset(c.uid), reset(c.track), reset(c.entry), reset(c.locale), reset(c.signature)
	c.customer, c.service, c.shardkey, c.oofShard = reset(c.customer), reset(c.service), reset(c.shardkey), reset(c.oofShard)
	c.smID, c.itemCount, c.created, c.doc = reset(c.smID), reset(c.itemCount), reset(c.created), reset(c.doc)
	c.resetChildren()
	c.stored = reset(c.stored)
	clear(c.at)
	columnsPool.Put(c)
}

// resetChildren empties the child arrays.
func (c *columns) resetChildren() {
	c.dUID, c.dName, c.dPhone, c.dZip = reset(c.dUID), reset(c.dName), reset(c.dPhone), reset(c.dZip)
	c.dCity, c.dAddress, c.dRegion, c.dEmail = reset(c.dCity), reset(c.dAddress), reset(c.dRegion), reset(c.dEmail)
	c.pUID, c.pTransaction, c.pRequestID, c.pCurrency = reset(c.pUID), reset(c.pTransaction), reset(c.pRequestID), reset(c.pCurrency)
	c.pProvider, c.pBank, c.pAmount, c.pPaymentDt = reset(c.pProvider), reset(c.pBank), reset(c.pAmount), reset(c.pPaymentDt)
	c.pDeliveryCost, c.pGoodsTotal, c.pCustomFee = reset(c.pDeliveryCost), reset(c.pGoodsTotal), reset(c.pCustomFee)
	c.iUID, c.iTrack, c.iRid, c.iName, c.iSize, c.iBrand = reset(c.iUID), reset(c.iTrack), reset(c.iRid), reset(c.iName), reset(c.iSize), reset(c.iBrand)
	c.iPosition, c.iChrtID, c.iPrice, c.iSale = reset(c.iPosition), reset(c.iChrtID), reset(c.iPrice), reset(c.iSale)
	c.iTotal, c.iNmID, c.iStat = reset(c.iTotal), reset(c.iNmID), reset(c.iStat)
}

// reset zeroes s up to its capacity and returns it empty.
func reset[T any](s []T) []T {
	clear(s[:cap(s)])
	return s[:0]
}

// addOrder appends the orders row of o; pos is its position in the attempt.
func (c *columns) addOrder(pos int, o *order.Order, created time.Time, doc []byte) {
	c.uid = append(c.uid, o.OrderUID)
	c.track = append(c.track, o.TrackNumber)
	c.entry = append(c.entry, o.Entry)
	c.locale = append(c.locale, o.Locale)
	c.signature = append(c.signature, o.InternalSignature)
	c.customer = append(c.customer, o.CustomerID)
	c.service = append(c.service, o.DeliveryService)
	c.shardkey = append(c.shardkey, o.Shardkey)
	c.smID = append(c.smID, o.SmID)
	c.itemCount = append(c.itemCount, int32(len(o.Items)))
	c.created = append(c.created, created)
	c.oofShard = append(c.oofShard, o.OofShard)
	c.doc = append(c.doc, doc)
	c.at[o.OrderUID] = pos
}

// addChildren appends the delivery, payment and item rows of o.
func (c *columns) addChildren(o *order.Order) {
	d := &o.Delivery
	c.dUID = append(c.dUID, o.OrderUID)
	c.dName = append(c.dName, d.Name)
	c.dPhone = append(c.dPhone, d.Phone)
	c.dZip = append(c.dZip, d.Zip)
	c.dCity = append(c.dCity, d.City)
	c.dAddress = append(c.dAddress, d.Address)
	c.dRegion = append(c.dRegion, d.Region)
	c.dEmail = append(c.dEmail, d.Email)

	p := &o.Payment
	c.pUID = append(c.pUID, o.OrderUID)
	c.pTransaction = append(c.pTransaction, p.Transaction)
	c.pRequestID = append(c.pRequestID, p.RequestID)
	c.pCurrency = append(c.pCurrency, p.Currency)
	c.pProvider = append(c.pProvider, p.Provider)
	c.pAmount = append(c.pAmount, p.Amount)
	c.pPaymentDt = append(c.pPaymentDt, p.PaymentDt)
	c.pBank = append(c.pBank, p.Bank)
	c.pDeliveryCost = append(c.pDeliveryCost, p.DeliveryCost)
	c.pGoodsTotal = append(c.pGoodsTotal, p.GoodsTotal)
	c.pCustomFee = append(c.pCustomFee, p.CustomFee)

	for i := range o.Items {
		it := &o.Items[i]
		c.iUID = append(c.iUID, o.OrderUID)
		c.iPosition = append(c.iPosition, int32(i))
		c.iChrtID = append(c.iChrtID, it.ChrtID)
		c.iTrack = append(c.iTrack, it.TrackNumber)
		c.iPrice = append(c.iPrice, it.Price)
		c.iRid = append(c.iRid, it.Rid)
		c.iName = append(c.iName, it.Name)
		c.iSale = append(c.iSale, it.Sale)
		c.iSize = append(c.iSize, it.Size)
		c.iTotal = append(c.iTotal, it.TotalPrice)
		c.iNmID = append(c.iNmID, it.NmID)
		c.iBrand = append(c.iBrand, it.Brand)
		c.iStat = append(c.iStat, it.Status)
	}
}
