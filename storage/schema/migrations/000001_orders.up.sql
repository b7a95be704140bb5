-- The order model, normalized: one row per order, its delivery and payment
-- (exactly one each), and its items in their JSON order.
--
-- The CHECK constraints repeat the obvious value rules of package order as a
-- second line of defence: validation should reject these values first, and
-- if it ever does not, the row is refused (SQLSTATE 23514) instead of stored.
-- Keep them no stricter than validation, or valid orders get dead-lettered.

CREATE TABLE orders (
    order_uid          text PRIMARY KEY CHECK (order_uid <> ''),
    track_number       text NOT NULL,
    entry              text NOT NULL,
    locale             text NOT NULL,
    internal_signature text NOT NULL,
    customer_id        text NOT NULL,
    delivery_service   text NOT NULL,
    shardkey           text NOT NULL,
    sm_id              bigint NOT NULL,
    -- Parsed from the producer's RFC 3339 text so it can be queried; the text
    -- itself survives unchanged inside doc.
    date_created       timestamptz NOT NULL,
    oof_shard          text NOT NULL,
    -- Ingest sequence: cache warm-up reads oldest first by it, and it is the
    -- key for keyset pagination. Never reused, never assigned by a client.
    id                 bigint GENERATED ALWAYS AS IDENTITY,
    stored_at          timestamptz NOT NULL DEFAULT now(),
    -- The canonical JSON exactly as accepted, served and warmed up without
    -- re-encoding. text, not jsonb: jsonb reorders keys and rewrites
    -- whitespace, and GET /order must answer byte for byte.
    doc                text NOT NULL
);

CREATE UNIQUE INDEX orders_id_key ON orders (id);

CREATE TABLE deliveries (
    order_uid text PRIMARY KEY REFERENCES orders ON DELETE CASCADE,
    name      text NOT NULL,
    phone     text NOT NULL,
    zip       text NOT NULL,
    city      text NOT NULL,
    address   text NOT NULL,
    region    text NOT NULL,
    email     text NOT NULL
);

-- Money is in minor units of currency.
CREATE TABLE payments (
    order_uid     text PRIMARY KEY REFERENCES orders ON DELETE CASCADE,
    transaction   text NOT NULL,
    request_id    text NOT NULL,
    currency      text NOT NULL,
    provider      text NOT NULL,
    amount        bigint NOT NULL CHECK (amount >= 0),
    payment_dt    bigint NOT NULL CHECK (payment_dt >= 0),
    bank          text NOT NULL,
    delivery_cost bigint NOT NULL CHECK (delivery_cost >= 0),
    goods_total   bigint NOT NULL CHECK (goods_total >= 0),
    custom_fee    bigint NOT NULL CHECK (custom_fee >= 0)
);

CREATE TABLE items (
    order_uid    text NOT NULL REFERENCES orders ON DELETE CASCADE,
    -- Index in the order's items array, from 0, so the order's items can be
    -- read back in their original sequence.
    position     int NOT NULL CHECK (position >= 0),
    chrt_id      bigint NOT NULL,
    track_number text NOT NULL,
    price        bigint NOT NULL CHECK (price >= 0),
    rid          text NOT NULL,
    name         text NOT NULL,
    sale         bigint NOT NULL CHECK (sale BETWEEN 0 AND 100),
    size         text NOT NULL,
    total_price  bigint NOT NULL CHECK (total_price >= 0),
    nm_id        bigint NOT NULL,
    brand        text NOT NULL,
    status       bigint NOT NULL,
    PRIMARY KEY (order_uid, position)
);
