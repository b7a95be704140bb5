-- Search by customer (GET /api/orders?customer_id=), newest created first.
-- One statement, CONCURRENTLY, for the reasons given in
-- 000003_orders_track_number_idx.up.sql; if it fails, drop the index and
-- `migrate force 3`.
CREATE INDEX CONCURRENTLY orders_customer_id_idx ON orders (customer_id, date_created, id)
