// Package webhook delivers job state-change webhooks from the store's transactional outbox.
//
// The store writes a [Delivery] in the same bbolt transaction as the job's state change, so a
// committed change always has its webhook waiting; this package only sends them. A
// [Dispatcher] looks at the outbox every Poll interval (and at once after [Dispatcher.Notify]),
// POSTs each due delivery to the job's callback URL, and tells the store how it went:
// Delivered, Retry (with exponential backoff and full jitter) or GiveUp.
//
// Delivery is at least once: if the master stops between a receiver's 2xx and recording it,
// the delivery is sent again after the restart. X-Ffrtmp-Delivery is unique per delivery, so a
// receiver can drop repeats. A job's deliveries go out in the order they were written: a later
// one waits while an earlier one of the same job is in flight or waiting for a retry.
//
// # Signature
//
// Every POST carries a header
//
//	X-Ffrtmp-Signature: t=1767225600,v1=<64 hex digits>
//
// where t is the Unix time in seconds at which this attempt was signed, and v1 is the
// lowercase hex HMAC-SHA256, keyed with the shared secret, of the bytes
//
//	<t> "." <body>
//
// that is the decimal t, one ASCII dot, then the request body exactly as received (not
// re-encoded JSON). A receiver:
//
//  1. splits the header on "," into key=value pairs and takes t and every v1 (keys it does
//     not know are ignored, so the scheme can grow);
//  2. computes the HMAC over t + "." + raw body and compares it in constant time with each v1
//     (one match is enough);
//  3. rejects t further than a few minutes from its own clock, so a captured request cannot
//     be replayed later.
//
// [Verify] does exactly that. Each attempt is signed afresh, so a retry sent hours after the
// state change still carries a current t.
package webhook
