DROP INDEX CONCURRENTLY IF EXISTS orders_track_number_idx
