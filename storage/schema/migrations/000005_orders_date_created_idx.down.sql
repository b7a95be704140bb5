DROP INDEX CONCURRENTLY IF EXISTS orders_date_created_idx
