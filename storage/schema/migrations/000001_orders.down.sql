DROP TABLE IF EXISTS items, payments, deliveries, orders;
