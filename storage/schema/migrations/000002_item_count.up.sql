-- The number of items of each order, known when it is inserted, so that a
-- page of the order list does not count items row by row. 0 means not
-- known: rows written by an orderd of before this migration, during a
-- rolling upgrade, are counted when listed (an order has at least one item).
ALTER TABLE orders ADD COLUMN item_count int NOT NULL DEFAULT 0 CHECK (item_count >= 0);

UPDATE orders o SET item_count = c.n
FROM (SELECT order_uid, count(*) AS n FROM items GROUP BY order_uid) c
WHERE c.order_uid = o.order_uid;
