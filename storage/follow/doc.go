// Package follow keeps a replica's cache fresh with what the other
// replicas commit: a Follower LISTENs on storage.CommitsChannel on a
// connection of its own, reads each announced batch's orders and Puts them
// into the read path (reads.Orders), and catches up after a lost
// connection.
//
// It never imports the write path or the store (storage/writes,
// storage/postgres) nor bigcache: it needs only how to connect, and the
// announcements' format from storage.
package follow
