-- Search by when an order was created (GET /api/orders?created_from=
-- &created_to=), newest first, paged by (date_created, id). One statement,
-- CONCURRENTLY, for the reasons given in 000003_orders_track_number_idx.up.sql;
-- if it fails, drop the index and `migrate force 4`.
CREATE INDEX CONCURRENTLY orders_date_created_idx ON orders (date_created, id)
